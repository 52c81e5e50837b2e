//! The rules of both classifiers, in the order they are tried. Each pattern reads the
//! [`normalise`](super::normalise)d text: lowercase, accents folded, `@handle` → `@h`, URL →
//! `<url>` (or `<dm-url>` for a link that opens a private conversation). `\b`, `\w` and `.` are ASCII
//! or byte-wise (see `Compiled::new`).
//!
//! Changing what a rule matches, adding or removing one, or reordering them changes verdicts:
//! bump the version and re-measure (`replyrank eval`, see `data/labels/README.md`).

use super::Kind::{self, Complaint, Other, Praise, Request};
use super::Lang::{Any, En, Fr};
use super::Rule;

/// The version of the deflection rules below.
pub const DEFLECT_VERSION: &str = "deflect-2";
/// The version of the opening-post rules below.
pub const KIND_VERSION: &str = "kind-3";

/// Rule id of an opening post no rule matched that opens with a mention: most of those report
/// a problem.
pub const KIND_DEFAULT_ADDRESSED: &str = "kind.default.addressed";
/// Rule id of an opening post no rule matched that does not open with a mention (a complaint
/// too, since kind-3: when in doubt, a post addressed to a brand needs a reply).
pub const KIND_DEFAULT: &str = "kind.default";

const fn r<T>(id: &'static str, lang: super::Lang, pattern: &'static str, then: T) -> Rule<T> {
    Rule {
        id,
        lang,
        pattern,
        then,
    }
}

/// Brand replies. The first matching rule decides; a `not.` rule decides "no" (it names a
/// channel without sending the customer there), so it comes before the rules it excepts.
pub static DEFLECT: &[Rule<bool>] = &[
    // Exceptions first.
    r(
        "en.not.no-need",
        En,
        r"\b(no need to|(don't|do not|dont) (need to|have to)) (dm|pm|message|e-?mail|call|contact)\b",
        false,
    ),
    r(
        "fr.not.no-need",
        Fr,
        r"\b(pas besoin de|inutile de) (nous )?(contacter|ecrire|appeler|envoyer)\b",
        false,
    ),
    // A link that opens a private conversation, or an e-mail address.
    r("dm-link", Any, r"<dm-url>", true),
    r(
        "email-address",
        Any,
        r"\b[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}\b",
        true,
    ),
    // Direct / private messages.
    r(
        "en.dm",
        En,
        r"\b(dm|pm|message|inbox|msg) (us|me|our|the team|them|your|ur|him|her)\b|\b(please|pls|plz|kindly|can you|could you|would you|will you|feel free to|just|go ahead and|you can|you may|mind|then) (dm|pm)\b|\b(via|by|in|through|over|into|to) (a |an |the |your |our )?dms?\b|\b(sent|send|got|get|getting|check|see|received|open) (you |us |me )?(a|an|your|our|the|that|this) (dm|pm)s?\b|\bdm'?(e?d|ing)\b|\bdm (sent|thread|conversation)\b|\bwe (can|could|may|will|'ll) (dm|pm)\b|\b(direct|private|personal|secure) (message|msg|messaging|chat|conversation|link|channel)s?\b|\bdm (w/|with) (any|your|the|more)\b|\b(resent|resend|re-sent) (you )?(a |an |the |your )?dm|\bprivately\b|\btake (this|it|the conversation) (offline|private)\b",
        true,
    ),
    r(
        "en.send-us",
        En,
        r"\b(send|shoot|drop|give) (us|me|our team) (a|an|some) (message|msg|note|line|dm|pm|quick)\b",
        true,
    ),
    r(
        "fr.mp",
        Fr,
        r"\b(un|en|par|via|nous|votre|vos|le|les|ton|tes|du|des|ce|cet) (mp|md|dm|dms|mps)\b|\b(mp|md|dm)(-| )nous\b|\bmessages? (prives?|directs?)\b|\ben prive\b|\bmessagerie\b",
        true,
    ),
    // E-mail.
    r(
        "en.email",
        En,
        r"\be-?mail (us|me|our|the team|them)\b|\b(via|by|through|over|in an?) e-?mail\b|\bcheck (your|ur|the) (e-?mail|inbox|spam|junk)|\bsent (you|u) an? e-?mail\b|\b(reply|respond|replied|responded) to (the|our|my|your|that) e-?mail\b|\be-?mail address (below|above)\b",
        true,
    ),
    r(
        "fr.email",
        Fr,
        r"\b(par|via) (e-?mail|courriel|mail)\b|\b(ecrivez|ecrivez|ecris|ecrire)[- ]nous\b|\bnous ecrire\b|\bverifi(ez|er) (vos|votre) (e-?mails?|courriels?|boite)\b|\b(envoye|adresse|transmis) (un|une) (e-?mail|mail|courriel)\b",
        true,
    ),
    // Phone.
    r(
        "en.phone",
        En,
        r"\b(call|phone|ring|text) (us|me|our|the (team|number|line|store|helpline))\b|\bgive (you|u) a (call|ring|buzz)\b|\bcalling (us|our)\b|\b(over|by|via) the phone\b|\bby phone\b|\b(help|hot|support|customer service|customer care) ?line\b|\b1?-?8[0-9]{2}-[0-9a-z]{3}-[0-9a-z]{4}\b|\b(call|reach|contact)\w* [^.!?]{0,25}\b(at|on) \+?[0-9][0-9 ().-]{6,}[0-9]\b",
        true,
    ),
    r(
        "fr.phone",
        Fr,
        r"\bau (3[0-9]{3}|10[0-9]{2}|0[1-9]( ?[0-9]{2}){4}|\+33[0-9 .]{9,})\b|\b(appelez|appeler|telephonez|joindre|joignez)[- ]nous\b|\bnous (appeler|joindre|telephoner)\b|\bpar telephone\b|\bvous (rappeler|appeler|recontacter)\b",
        true,
    ),
    // Chat.
    r(
        "en.chat",
        En,
        r"\bchat (with|to) (us|me|our|an?|the|one)\b|\blive ?chat\b|\bchat (here|at|via|on|through)\b|\bour chat\b",
        true,
    ),
    r(
        "chat-app",
        Any,
        r"\b(messenger|whatsapp|t?chat en ligne)\b",
        true,
    ),
    // A form, a ticket, a claim.
    r(
        "en.form",
        En,
        r"\b(fill|complete|submit) (in |out )?(this|the|our|a|an) (\w+ ){0,2}(form|request|claim|ticket|report)\b|\b(web|contact|online) ?form\b|\bform (here|at|below|via)\b|\bopen (a|an) (\w+ )?(ticket|case)\b|\bfile (a|an) (\w+ ){0,3}(claim|report|complaint)\b",
        true,
    ),
    r("fr.form", Fr, r"\bformulaire\b", true),
    // Surveys and feature requests.
    r(
        "en.feedback",
        En,
        r"\bsurvey\b|\bfeedback (form|page|site|link|here|at|via|through)\b|\b(submit|share|leave|send|post) (your |the |any |this |that )?(feedback|suggestion|idea|feature request)s? (here|at|via|through|on|with)\b|\b(feature request|suggestion box|ideas? (portal|forum|page|site))\b|\bsuggest (it|this|that) (in|on|at|to|via)\b|\bcommunity (at|here|forum|site|page)\b|\bfeedback\W{0,3}<url>",
        true,
    ),
    // Contact pages, other accounts, other teams, staff in person.
    r(
        "en.reach-out",
        En,
        r"\b(please|pls|kindly|feel free to|you can|you may|you('ll| will)( need| want)? to|best to|recommend|suggest|have you|i'd|would|need to|should) (reach( out)?|contact|get in touch|speak|talk)( to| with)? (them|@h|the|our|a|an|your|their|one of|us (here|at|via|through|on))\b|\breach (out )?(to )?(us|me) (here|at|via|through|on)\b|\breach out (here|at|via|through|directly)\b",
        true,
    ),
    r(
        "en.other-account",
        En,
        r"\b(speak|talk|reach out|get in touch|contact|deal)( to| with)? [^.!?]{0,30}\bdirectly\b|\b(tweet|message|contact|reach out to|ask|tag|mention|get in touch with) @h\b|\b(friends|team|colleagues|folks|pals) (at|over at|on) @h",
        true,
    ),
    r(
        "en.other-team",
        En,
        r"\b(contact|reach out to|get in touch with|speak (to|with)|talk (to|with)|visit|go to|head to|stop by|pop into|ask|see|return to|call) (a |an |the |your |our |any |one of (our|the) |their )?(local |nearest |closest |nearby )?(store|airport|station|branch|counter|desk|agent|crew|staff|team|department|dept|specialist|rep|representative|manager|gate|service cent(er|re)|customer (service|care|support|relations)|support team|genius bar|apple store|carrier|provider|isp|manufacturer|retailer|seller|bank|member of (staff|our team|the crew))s?\b",
        true,
    ),
    r(
        "en.in-person",
        En,
        r"\bin person\b|\b(airport|gate|station|store|ticket|check-in|baggage|bag|crew|cabin|onboard) (agent|staff|team|crew|attendant|member|manager)s? [^.!?]{0,30}\b(will|can|would|should|happy|able)\b|\b(let|ask|tell|see) (a|an|the|any|one of)( our)? (member of (staff|the crew|our team)|staff|crew member|agent|conductor|flight attendant|gate agent|team member|guard)\b",
        true,
    ),
    r(
        "en.contact-link",
        En,
        r"\b(help|contact|support|customer service) (page|center|centre|site|form|portal|team)\b[^.!?]{0,20}<url>|\b(reach|contact|connect|message|send us|tell us|write|provide|share|talk|speak|get in touch|chat|details|report (this|it) to us)\b[^.!?]{0,40}<url>|\b(use|follow|click( on)?|via|through) (the|this|that|our) link\b[^.!?]{0,30}\b(provided|above|below|so (that )?we|to (reach|contact|send|message|connect|chat|talk|get in touch|provide|share))",
        true,
    ),
    r(
        "en.followed-up",
        En,
        r"\b(has|have|'ve|we|will|'ll) (reached out|followed up|emailed|called|contacted|sent you|sent u) (to |with )?(you|u)\b|\b(respond|reply|replied|responded|continue|follow up|chat|talk) (to you |with you )?there\b",
        true,
    ),
    // French: contact, invitations, other teams, in person.
    r(
        "fr.contact",
        Fr,
        r"\b(contactez|contacter|contacte)[- ]nous\b|\bnous contacter\b|\bcontacter (le|la|les|notre|nos|votre|vos|un|une|directement|l')|\bprendre contact\b|\bpage (de )?contact\b|\b(rapprochez|rapprocher|adressez|adresser|presentez|presenter|rendez|rendre)[- ]vous\b|\bvous (rapprocher|adresser|presenter|rendre)\b",
        true,
    ),
    r(
        "fr.invite",
        Fr,
        r"\b(nous vous|je vous) (invitons|invite)\b",
        true,
    ),
    r(
        "fr.send-us",
        Fr,
        r"\b(envoyez|envoie|envoyer|transmettez|transmettre|communiquez|communiquer|adressez)[- ]nous\b",
        true,
    ),
    r(
        "fr.other-team",
        Fr,
        r"\b(en|votre|une|l'|a l') (agence|boutique|gare|magasin)\b|\bau guichet\b|\bservices? (client|clients|clientele|apres-vente|consommateurs?|reclamations?)\b|\bsav\b|\b(un|une|nos|notre|votre|vos) (conseillers?|conseilleres?)\b|\b(collegues|amis|equipes?) (de|d'|du|chez) @h\b|\b(contactez|ecrivez a|interpellez|mentionnez) @h\b",
        true,
    ),
];

/// Customer posts that start a conversation. The first matching rule decides; when none does,
/// [`KIND_DEFAULT_ADDRESSED`] (complaint) or [`KIND_DEFAULT`] (other).
pub static KIND: &[Rule<Kind>] = &[
    r("kind.other.empty", Any, r"^[. ]*(@h ?)*$", Other),
    r(
        "kind.other.promo",
        Any,
        r"^[^@]*\b(now available|available (for pre-?order|now)|pre-?order now|sign up|giveaway|% off|for only|limited time|status update|coming soon|days? left|stay tuned|click here|follow us|rt to win|win a|new episode|watch now|out now|link in bio)\b",
        Other,
    ),
    r(
        "kind.praise.stay",
        En,
        r"\b(had|have|having) a (wonderful|great|lovely|fantastic|amazing|brilliant|perfect) (time|stay|flight|trip|experience|day|evening)\b",
        Praise,
    ),
    r(
        "kind.praise.resolved",
        En,
        r"\b(problem|issue|it)s? (has|have|is|was|were|got|'s) (been |now |finally |all )*(resolved|fixed|sorted)\b",
        Praise,
    ),
    r(
        "kind.complaint.problem",
        En,
        r"\b(refund|money back|charged|overcharged|not (working|delivered|received|arrived|here|showing|loading|letting|happy)|(doesn'?t|does not|didn'?t|did not|won'?t|isn'?t|is not|stopped|never) work(ing|s|ed)?|never (arrived|received|came|got|showed|delivered)|still (not|no|waiting|haven'?t|hasn'?t|can'?t|nothing|broken|down)|worst|terrible|horrible|awful|appalling|disgusting|disgrace\w*|come on|get it together|bug|impossible|out of service|zero stars|charg(e|ed|ing) me|ridiculous|unacceptable|pathetic|useless|rubbish|trash|garbage|poor|bad service|hate|fed up|sick of|tired of|annoyed|angry|furious|frustrat\w*|disappoint\w*|ruined|rude|scam|shame on|ashamed|fix (this|it|your)|sort (this|it) out|cancel(l?ed)?|delay(ed|s)?|(hours?|mins?|minutes?|days?|weeks?|running|arrived|delivered|is|was|are|were|still|so|very|always) late|(didn'?t|did not|haven'?t|hasn'?t|have not|has not|never) (get|got|receive|received|arrive|arrived|come|came|show|showed)|none of (the|my)|too bad|what happened to|why|explain|ever (going to|gonna)|(whenever|every time|each time) (i|we)|on hold|outage|down again|is down|keeps? \w+ing|crash\w*|freez\w*|glitch\w*|buggy|bugs|error|broken|broke|failed|failing|failure|fail|lost|missing|stuck|unable to|can'?t|cannot|couldn'?t|won'?t|screwed|mou?ld|expired|wrong|damaged|no (service|signal|internet|wifi|response|reply|one|notification)|slow|speeds?|disconnect\w*|drops?|dropped|dropping|wtf|fuck\w*|shit\w*|smh|ugh|seriously|issues?|problems?|dupe)\b|(😭|😡|😤|🤬|😠|😩|💔|😢|😞|🙄|🤦|😐|🙃)",
        Complaint,
    ),
    r(
        "kind.complaint.probleme",
        Fr,
        r"\b(pb|rembours\w*|panne|retard\w*|annul\w*|bloque\w*|probleme|toujours pas|jamais|honte|nul|inadmissible|scandale\w*|arnaque|sale|pas (recu|livre|arrive)|ne (marche|fonctionne) (pas|plus))\b",
        Complaint,
    ),
    r(
        "kind.request.question",
        Any,
        r"^[. ]*((hey|hi|hello|dear|yo) )?@h\b.*\?|\b(how (do|can|to|long|much)|can (i|we|you)|could (i|we|you)|is (there|it|this)|are (you|there)|do (you|i|we)|will (you|i|the)|when (will|is|does|do)|where (can|do|is)|what (is|are|time|happens)|any (news|update|info|way|idea|help)|please (help|advise|let)|need help|looking for|wondering|would like to|want to know|let me know)\b",
        Request,
    ),
    r(
        "kind.request.help",
        Any,
        r"\bhelp\b|\b(comment|pourquoi|quand|est-ce que|pouvez-vous|pourriez-vous|svp|s'il vous plait)\b",
        Request,
    ),
    r(
        "kind.praise",
        Any,
        r"\b(thanks?|thank (you|u)|thx|love|loving|loved|great|amazing|awesome|best|excellent|fantastic|brilliant|wonderful|shout ?out|kudos|props|well done|appreciate\w*|favou?rite|impressed|happy|glad|perfect|delicious|yum|superb|outstanding|helpful|capable|expectations|merci|bravo|genial|super|excellent)\b|(❤|😍|🥰|👏|💯|🙌|😊|☺)",
        Praise,
    ),
];
