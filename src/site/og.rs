//! Share images (`og:image`): a PNG per brand page and one for the rest of the site, in each
//! language, drawn as SVG and rasterised at build time by resvg with a font compiled into the
//! binary (DejaVu Sans Bold, `templates/fonts/`, Bitstream Vera licence): no browser, no
//! network, no system font, so every machine makes the same bytes.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use resvg::{tiny_skia, usvg};

use super::charts::escape;

static FONT: &[u8] = include_bytes!("../../templates/fonts/DejaVuSans-Bold.ttf");

/// The images' size: half of the 1200 × 630 the large cards ask for, which they scale up.
pub const W: u32 = 600;
pub const H: u32 = 315;

/// Rasterises share images.
pub struct Painter {
    options: usvg::Options<'static>,
}

/// What a share image says, line by line.
pub struct Card<'a> {
    /// Top line, small: the site and the as-of date.
    pub kicker: &'a str,
    /// The page's subject: a brand's name, or the site's title.
    pub title: &'a str,
    /// The headline figure (a score), drawn large, with its explanation beside it.
    pub figure: Option<(&'a str, &'a str)>,
    /// Further lines (rank, or the top brands).
    pub lines: &'a [String],
    /// Bottom line, small: the data's source.
    pub source: &'a str,
}

impl Painter {
    pub fn new() -> Painter {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(FONT.to_vec());
        db.set_sans_serif_family("DejaVu Sans");
        let options = usvg::Options {
            font_family: "DejaVu Sans".into(),
            fontdb: Arc::new(db),
            ..usvg::Options::default()
        };
        Painter { options }
    }

    /// The card as a PNG.
    pub fn png(&self, card: &Card) -> Result<Vec<u8>> {
        let svg = svg(card);
        let tree = usvg::Tree::from_str(&svg, &self.options)
            .map_err(|e| anyhow!("drawing a share image: {e}"))?;
        let mut pixmap =
            tiny_skia::Pixmap::new(W, H).ok_or_else(|| anyhow!("no room for a share image"))?;
        resvg::render(
            &tree,
            tiny_skia::Transform::identity(),
            &mut pixmap.as_mut(),
        );
        pixmap
            .encode_png()
            .map_err(|e| anyhow!("encoding a share image: {e}"))
    }
}

/// Cuts a text to `max` characters, with an ellipsis.
fn fit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// Words in lines of at most `width` characters, at most `lines` of them (the last cut).
fn wrap(s: &str, width: usize, lines: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in s.split_whitespace() {
        match out.last_mut() {
            Some(last) if last.chars().count() + 1 + word.chars().count() <= width => {
                last.push(' ');
                last.push_str(word);
            }
            _ => out.push(word.to_string()),
        }
    }
    if out.len() > lines {
        let rest = out[lines - 1..].join(" ");
        out.truncate(lines - 1);
        out.push(rest);
    }
    out.iter().map(|l| fit(l, width)).collect()
}

fn svg(card: &Card) -> String {
    let mut body = String::new();
    let mut text = |x: u32, y: u32, size: u32, color: &str, s: &str| {
        body.push_str(&format!(
            "<text x=\"{x}\" y=\"{y}\" font-size=\"{size}\" fill=\"{color}\">{}</text>",
            escape(s)
        ));
    };
    text(30, 44, 16, "#4b5563", &fit(card.kicker, 60));
    let mut y = 88;
    for line in wrap(card.title, 32, 2) {
        text(30, y, 32, "#1f2a37", &line);
        y += 38;
    }
    if let Some((big, what)) = card.figure {
        text(30, y + 62, 72, "#1f4e79", big);
        let x = 40 + 44 * big.chars().count() as u32;
        text(x, y + 32, 16, "#1f2a37", &fit(what, 40));
        y += 112;
    } else {
        y += 12;
    }
    for line in card.lines {
        text(30, y, 20, "#1f2a37", &fit(line, 50));
        y += 30;
    }
    text(30, H - 18, 11, "#4b5563", &fit(card.source, 80));
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"DejaVu Sans\" font-weight=\"bold\"><rect width=\"{W}\" height=\"{H}\" fill=\"#ffffff\"/><rect width=\"{W}\" height=\"8\" fill=\"#1f4e79\"/>{body}</svg>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_image_is_a_png_of_its_size_and_the_same_every_time() {
        let p = Painter::new();
        let card = Card {
            kicker: "replyrank · as of 3 December 2017",
            title: "Délta Air Lines",
            figure: Some(("94.2", "score, 95% interval 82.5–99.0")),
            lines: &["Rank 5 of 15 (95% interval 1–9)".into()],
            source: "Source: ThoughtVector, Customer Support on Twitter (CC BY-NC-SA 4.0)",
        };
        let a = p.png(&card).unwrap();
        assert_eq!(&a[1..4], b"PNG");
        assert_eq!(u32::from_be_bytes(a[16..20].try_into().unwrap()), W);
        assert_eq!(u32::from_be_bytes(a[20..24].try_into().unwrap()), H);
        assert_eq!(a, p.png(&card).unwrap());
        // Text is drawn (the font is found): the image is not just the white card and bar.
        let blank = p
            .png(&Card {
                kicker: "",
                title: "",
                figure: None,
                lines: &[],
                source: "",
            })
            .unwrap();
        assert!(
            a.len() > blank.len() + 2000,
            "{} vs {}",
            a.len(),
            blank.len()
        );
    }
}
