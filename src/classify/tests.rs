//! Hand-written cases pinning the rules, in English and French. Texts are made up in the style
//! of support accounts; none is a customer's.

use super::*;

fn rule_of(text: &str, lang: Option<&str>) -> Option<&'static str> {
    let v = deflect(text, lang);
    assert_eq!(v.version, DEFLECT_VERSION);
    if v.deflect { v.rule } else { None }
}

#[track_caller]
fn yes(text: &str, lang: Option<&str>, rule: &str) {
    let v = deflect(text, lang);
    assert!(v.deflect, "{text:?} should deflect, got {v:?}");
    assert_eq!(v.rule, Some(rule), "{text:?}");
}

#[track_caller]
fn no(text: &str, lang: Option<&str>) {
    let v = deflect(text, lang);
    assert!(
        !v.deflect,
        "{text:?} should not deflect, fired {:?}",
        v.rule
    );
}

#[test]
fn every_rule_compiles() {
    assert_eq!(DEFLECT.set.len(), rules::DEFLECT.len());
    assert_eq!(KIND.set.len(), rules::KIND.len());
    // The rules with bounded repetitions (en.phone, en.form, en.feedback, en.other-account,
    // en.in-person, en.contact-link) are confirmed by their exact patterns.
    let loosened = DEFLECT.exact.iter().filter(|e| e.is_some()).count();
    assert_eq!(loosened, 6);
    let mut ids: Vec<&str> = rules::DEFLECT.iter().map(|r| r.id).collect();
    ids.extend(rules::KIND.iter().map(|r| r.id));
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "rule ids are unique");
}

#[test]
fn normalise_replaces_handles_urls_entities_and_accents() {
    assert_eq!(
        normalise("@SNCF  Envoyez-nous un MP   https://t.co/Ab1 &amp; Numéro — « dossier »"),
        "@h envoyez-nous un mp <url> & numero - \" dossier \""
    );
    assert_eq!(normalise("mail me@example.com"), "mail me@example.com");
    assert_eq!(
        normalise("DM: https://twitter.com/messages/compose?recipient_id=1 ok"),
        "dm: <dm-url> ok"
    );
    assert_eq!(normalise("We’re ŒUVRE Ça"), "we're oeuvre ca");
    assert_eq!(
        normalise("  What  the  HTTPS://x.y/z?a=1\tand www.x.com, whatever ht"),
        "what the <url> and <url> whatever ht"
    );
}

#[test]
fn english_deflections_name_their_rule() {
    yes(
        "@123 Please DM us your confirmation number. *QB",
        Some("en"),
        "en.dm",
    );
    yes(
        "@123 Can you send us a DM with your order number?",
        None,
        "en.dm",
    );
    yes("@123 We've responded to your DM. ^GG", None, "en.dm");
    yes(
        "@123 Follow us so we can DM you the details.",
        None,
        "en.dm",
    );
    yes("@123 Please send us a private message.", None, "en.dm");
    yes("@123 Drop us a line and we'll sort it.", None, "en.send-us");
    yes(
        "@123 Please email us at help@example.com with the details.",
        None,
        "email-address",
    );
    yes(
        "@123 Please check your email for our reply.",
        None,
        "en.email",
    );
    yes("@123 Please call us on 0800 123 4567.", None, "en.phone");
    yes("@123 We'd be happy to give you a call.", None, "en.phone");
    yes(
        "@123 You can chat with us here: https://t.co/x",
        None,
        "en.chat",
    );
    yes(
        "@123 Please fill in this form so we can investigate: https://t.co/x",
        None,
        "en.form",
    );
    yes(
        "@123 Please reach out to them for assistance.",
        None,
        "en.reach-out",
    );
    yes(
        "@123 Our friends at @AskPS can help with that.",
        None,
        "en.other-account",
    );
    yes(
        "@123 Please visit your local store so they can swap it.",
        None,
        "en.other-team",
    );
    yes(
        "@123 A gate agent will be happy to help you in person.",
        None,
        "en.in-person",
    );
    yes(
        "@123 Please provide some details here: https://t.co/x",
        None,
        "en.contact-link",
    );
    yes(
        "@123 Visit our help centre https://t.co/x to get started.",
        None,
        "en.contact-link",
    );
    yes(
        "@123 A member of our team has reached out to you.",
        None,
        "en.followed-up",
    );
    yes(
        "@123 Please take our survey: https://t.co/x",
        None,
        "en.feedback",
    );
    yes(
        "@123 Feel free to DM us if that doesn't help!",
        None,
        "en.dm",
    );
    yes(
        "@123 Do you have a number where we can reach you? Please send it through the private link.",
        None,
        "en.dm",
    );
    yes("@123 We have resent the DM, kindly check.", None, "en.dm");
    yes(
        "@123 For a refund, best to deal with the hotel directly.",
        None,
        "en.other-account",
    );
    yes(
        "@123 Great idea! Suggest it in our Community at https://t.co/x",
        None,
        "en.feedback",
    );
    yes(
        "@123 Have you had a chance to report this to us: https://t.co/x?",
        None,
        "en.contact-link",
    );
    yes(
        "@123 Talk to us https://twitter.com/messages/compose?recipient_id=1",
        None,
        "dm-link",
    );
}

#[test]
fn english_answers_in_public_do_not_deflect() {
    // The link is the answer.
    no(
        "@123 Please find more information in the following article: https://t.co/x",
        Some("en"),
    );
    no("@123 Try the steps here: https://t.co/x", None);
    no(
        "@123 Our status page shows the outage: https://t.co/x",
        None,
    );
    // "Get back to us" names no channel.
    no(
        "@123 Please try again and get back to us if it persists.",
        None,
    );
    no("@123 Let us know how it goes!", None);
    // Thanks for a DM, with nothing to move.
    no(
        "@123 Thanks for the DM, glad we could help! Enjoy the show.",
        None,
    );
    no(
        "@123 No need to DM us, here's the fix: restart the app.",
        None,
    );
    // A clarifying question in public, an apology, an answer.
    no("@123 Which app version are you on?", None);
    no(
        "@123 Thanks for reaching out to us. Are you on Wi-Fi?",
        None,
    );
    no(
        "@123 Sorry about that. The train was held by a signal failure.",
        None,
    );
    no("@123 You can make calls once the update finishes.", None);
    no("@123 We love it, you rock!", None);
}

#[test]
fn french_deflections_name_their_rule() {
    let fr = Some("fr");
    yes(
        "@123 Envoyez-nous un DM avec votre numéro de commande.",
        fr,
        "fr.mp",
    );
    yes(
        "@123 Envoyez-nous un MP avec votre numéro de dossier.",
        fr,
        "fr.mp",
    );
    yes(
        "@123 Pouvez-vous nous écrire en message privé ?",
        fr,
        "fr.mp",
    );
    yes("@123 Bonjour, contactez-nous au 3900.", fr, "fr.phone");
    yes(
        "@123 Nos conseillers vous répondent au 09 69 32 15 15.",
        fr,
        "fr.phone",
    );
    yes(
        "@123 Contactez-nous via notre page d'aide.",
        fr,
        "fr.contact",
    );
    yes("@123 Merci de nous contacter par mail.", fr, "fr.email");
    yes(
        "@123 Écrivez-nous, nous regarderons votre dossier.",
        fr,
        "fr.email",
    );
    yes(
        "@123 Nous vous invitons à vous rapprocher de votre agence.",
        fr,
        "fr.contact",
    );
    yes(
        "@123 Nous vous invitons à consulter notre site d'aide.",
        fr,
        "fr.invite",
    );
    yes(
        "@123 Je vous invite à remplir le formulaire en ligne.",
        fr,
        "fr.form",
    );
    yes(
        "@123 Transmettez-nous votre référence, nous verrons.",
        fr,
        "fr.send-us",
    );
    yes(
        "@123 Le service client pourra vous aider à ce sujet.",
        fr,
        "fr.other-team",
    );
    yes(
        "@123 Vous pouvez nous joindre par téléphone.",
        fr,
        "fr.phone",
    );
    yes("@123 Un conseiller va vous rappeler.", fr, "fr.phone");
    // The French rules apply when the language is not given.
    yes(
        "@123 Envoyez-nous un MP avec votre numéro de dossier.",
        None,
        "fr.mp",
    );
}

#[test]
fn french_answers_in_public_do_not_deflect() {
    let fr = Some("fr");
    no(
        "@123 Le train est retardé à cause d'un incident de signalisation.",
        fr,
    );
    no("@123 Merci pour votre retour, bonne journée !", fr);
    no("@123 Vous trouverez les horaires ici : https://t.co/x", fr);
    no(
        "@123 Pas besoin de nous contacter, le remboursement est automatique.",
        fr,
    );
    no("@123 Tenez-nous au courant !", fr);
}

#[test]
fn language_restricts_rules() {
    // "MP" is a French channel, not an English one ("contact your MP" is politics).
    assert_eq!(rule_of("@123 Write to your MP about it", Some("en")), None);
    assert_eq!(
        rule_of("@123 Envoyez-nous un MP", Some("fr-FR")),
        Some("fr.mp")
    );
}

#[test]
fn opening_post_kinds_name_their_rule() {
    let k = |t: &str| {
        let v = kind(t, Some("en"));
        assert_eq!(v.version, KIND_VERSION);
        (v.kind, v.rule)
    };
    assert_eq!(
        k("@Shop my order never arrived and nobody answers"),
        (Kind::Complaint, "kind.complaint.problem")
    );
    assert_eq!(
        k("@Air can I bring a stroller on board?"),
        (Kind::Request, "kind.request.question")
    );
    assert_eq!(
        k("Shout out to @Air for the lovely crew ❤️"),
        (Kind::Praise, "kind.praise")
    );
    assert_eq!(
        k("@Telco the problem has been resolved, thanks to your technician"),
        (Kind::Praise, "kind.praise.resolved")
    );
    assert_eq!(
        k("Now available for pre-order on all consoles https://t.co/x"),
        (Kind::Other, "kind.other.promo")
    );
    assert_eq!(
        k("@Telco my router is blinking orange"),
        (Kind::Complaint, "kind.default.addressed")
    );
    assert_eq!(k("@Air"), (Kind::Other, "kind.other.empty"));
    assert_eq!(
        k("Leaving @Hotel today, had a wonderful time, can't wait to come back"),
        (Kind::Praise, "kind.praise.stay")
    );
    assert_eq!(
        k("Disgraceful @Air, my knees were crushed for three hours"),
        (Kind::Complaint, "kind.complaint.problem")
    );
    // kind-3: a post no rule reads, addressed to a brand or not, counts as needing a reply.
    assert_eq!(
        k("No online orders today?  Really @Burrito ?"),
        (Kind::Complaint, "kind.default")
    );
    let fr = kind("@SNCF mon train a encore 40 minutes de retard", Some("fr"));
    assert_eq!(
        (fr.kind, fr.rule),
        (Kind::Complaint, "kind.complaint.probleme")
    );
    assert!(Kind::Request.needs_reply() && !Kind::Praise.needs_reply());
}
