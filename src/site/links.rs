//! Checks that every internal link and resource of a built site resolves to a file.

use std::path::{Component, Path, PathBuf};

use anyhow::Result;

/// A link that leads nowhere: the page it is on and the link as written.
#[derive(Debug, PartialEq)]
pub struct Broken {
    pub page: PathBuf,
    pub link: String,
}

/// Every `href` and `src` of every HTML file under `out` that is not external (`http:`,
/// `https:`, `mailto:`) must name an existing file (a directory link needs its `index.html`).
pub fn check_links(out: &Path) -> Result<(usize, Vec<Broken>)> {
    let out = &out.canonicalize()?;
    let mut broken = Vec::new();
    let mut checked = 0;
    let mut stack = vec![out.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "html") {
                continue;
            }
            let html = std::fs::read_to_string(&path)?;
            for link in links_in(&html) {
                let link = &decode(link);
                if link.starts_with("http:")
                    || link.starts_with("https:")
                    || link.starts_with("mailto:")
                    || link.starts_with('#')
                {
                    continue;
                }
                checked += 1;
                let target = link.split(['#', '?']).next().unwrap_or_default();
                if let Some(from_root) = target.strip_prefix('/') {
                    // A path from the site's root (the 404 page): the site may be served under a
                    // sub-path, so any tail of it that names a file of the output will do.
                    let parts: Vec<&str> = from_root.split('/').collect();
                    let found = (0..parts.len()).any(|k| {
                        let p = normalise(&out.join(parts[k..].join("/")));
                        p.starts_with(out) && exists(&p, target)
                    });
                    if !found {
                        broken.push(Broken {
                            page: path.strip_prefix(out).unwrap_or(&path).to_path_buf(),
                            link: link.to_string(),
                        });
                    }
                    continue;
                }
                let resolved = normalise(&path.parent().unwrap_or(out).join(target));
                let ok = exists(&resolved, target);
                if !ok || !resolved.starts_with(out) {
                    broken.push(Broken {
                        page: path.strip_prefix(out).unwrap_or(&path).to_path_buf(),
                        link: link.to_string(),
                    });
                }
            }
        }
    }
    broken.sort_by(|a, b| (&a.page, &a.link).cmp(&(&b.page, &b.link)));
    Ok((checked, broken))
}

/// Whether a link's target is a file (a directory link needs its `index.html`).
fn exists(resolved: &Path, target: &str) -> bool {
    if target.ends_with('/') || target.is_empty() {
        resolved.join("index.html").is_file()
    } else {
        resolved.is_file()
    }
}

fn links_in(html: &str) -> impl Iterator<Item = &str> {
    ["href=\"", "src=\""].into_iter().flat_map(move |attr| {
        html.match_indices(attr).filter_map(move |(i, _)| {
            let rest = &html[i + attr.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
    })
}

/// Decodes the character references an HTML attribute may hold.
fn decode(s: &str) -> String {
    s.replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
