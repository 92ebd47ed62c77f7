/// The Snowball Greek stemmer (snowballstem.org/algorithms/greek), written here
/// and checked against PyPI `snowballstemmer` 3.0.1 (Tests/FreshetTextTests/Fixtures/make_stems.py).
///
/// Capitals, accents, diaereses and final sigma are folded (ς → σ) and words under three
/// letters are left at that. Then, in order, each step strips one family of endings and,
/// for the stems listed with it (whole words, or word endings where noted), puts back part of
/// the ending so related forms meet: irregular nouns (step 1); derivational endings such as
/// -ιζω, -ωθηκα, -ισα, -ιστος, -ισμος, -ακι, -ιτσα, -ιδιο, -ισκος (steps S1–S10); plural
/// endings -αδες, -εδες, -ουδες, -εως (2a–2d); -ια and -ικος (3, 4); verb endings (5a–5m).
/// Only when none of those took an ending off (2a–2c do not count) are plain inflections
/// stripped (step 6); comparatives and superlatives always are (step 7). From Ntais (2006) as revised by
/// Saroukos (2008).
public enum GreekStemmer {
    typealias Word = Snowball.Word

    static let vowels: Set<Unicode.Scalar> = Set("αεηιουω".unicodeScalars)
    /// The vowels but υ.
    static let vowelsButU: Set<Unicode.Scalar> = Set("αεηιοω".unicodeScalars)

    static func words(_ list: [String]) -> Set<Word> { Set(list.map(Snowball.scalars)) }
    static func suffixes(_ list: [String]) -> [(Word, Void)] { list.map { (Snowball.scalars($0), ()) } }

    public static func stem(_ input: String) -> String {
        var s = Stemming(w: folded(Snowball.scalars(input)))
        if s.w.count >= 3 {
            s.irregularNouns()
            s.izw()
            s.wthika()
            s.isa()
            s.isw()
            s.istos()
            s.ismos()
            s.araki()
            s.aki()
            s.idio()
            s.iskos()
            s.ades()
            s.edes()
            s.oudes()
            s.ews()
            s.ia()
            s.ikos()
            s.ame()
            s.ane()
            s.ete()
            s.ontas()
            s.omaste()
            s.este()
            s.ika()
            s.ousa()
            s.isi()
            s.aga()
            s.iste()
            s.oune()
            s.oume()
            s.inflection()
            s.comparison()
        }
        return String(String.UnicodeScalarView(s.w))
    }

    /// Letters to their lower-case, unaccented form; anything else stays. As in the
    /// reference implementation, ϊ and ΐ become η, not ι.
    static let plainLetters: [Unicode.Scalar: Unicode.Scalar] = {
        let groups: [(String, Unicode.Scalar)] = [
            ("\u{391}\u{386}\u{3AC}", "α"), ("\u{392}", "β"), ("\u{393}", "γ"), ("\u{394}", "δ"),
            ("\u{395}\u{388}\u{3AD}", "ε"), ("\u{396}", "ζ"), ("\u{397}\u{389}\u{3AE}\u{3CA}\u{390}", "η"),
            ("\u{398}", "θ"), ("\u{399}\u{38A}\u{3AA}\u{3AF}", "ι"), ("\u{39A}", "κ"), ("\u{39B}", "λ"),
            ("\u{39C}", "μ"), ("\u{39D}", "ν"), ("\u{39E}", "ξ"), ("\u{39F}\u{38C}\u{3CC}", "ο"), ("\u{3A0}", "π"),
            ("\u{3A1}", "ρ"), ("\u{3A3}\u{3C2}", "σ"), ("\u{3A4}", "τ"), ("\u{3A5}\u{38E}\u{3AB}\u{3B0}\u{3CB}\u{3CD}", "υ"),
            ("\u{3A6}", "φ"), ("\u{3A7}", "χ"), ("\u{3A8}", "ψ"), ("\u{3A9}\u{38F}\u{3CE}", "ω"),
        ]
        var map: [Unicode.Scalar: Unicode.Scalar] = [:]
        for (letters, plain) in groups {
            for letter in letters.unicodeScalars { map[letter] = plain }
        }
        return map
    }()

    static func folded(_ w: Word) -> Word { w.map { plainLetters[$0] ?? $0 } }

    // The tables below are written as words look after `folded`: σ stands for final ς too.

    // Step 1: irregular nouns, by ending.
    static let irregularNouns: [(Word, Word)] = [
        (["φαγια", "φαγιου", "φαγιων"], "φα"),
        (["σκαγια", "σκαγιου", "σκαγιων"], "σκα"),
        (["ολογια", "ολογιου", "ολογιων"], "ολο"),
        (["σογια", "σογιου", "σογιων"], "σο"),
        (["τατογια", "τατογιου", "τατογιων"], "τατο"),
        (["κρεασ", "κρεατοσ", "κρεατα", "κρεατων"], "κρε"),
        (["περασ", "περατοσ", "περατη", "περατα", "περατων"], "περ"),
        (["τερασ", "τερατοσ", "τερατα", "τερατων"], "τερ"),
        (["φωσ", "φωτοσ", "φωτα", "φωτων"], "φω"),
        (["καθεστωσ", "καθεστωτοσ", "καθεστωτα", "καθεστωτων"], "καθεστ"),
        (["γεγονοσ", "γεγονοτοσ", "γεγονοτα", "γεγονοτων"], "γεγον"),
    ].flatMap { forms, stem in forms.map { (Snowball.scalars($0), Snowball.scalars(stem)) } }

    // Steps S1–S10: derivational endings; the stems listed after each get part of it back.
    static let izw = suffixes([
        "ιζα", "ιζε", "ιζαμε", "ιζουμε", "ιζανε", "ιζουνε", "ιζατε", "ιζετε", "ιζει", "ιζαν", "ιζουν", "ιζεσ",
        "ιζεισ", "ιζω",
    ])
    static let izwThenI = words(["πα", "ξαναπα", "επα", "περιπα", "αναμπα", "εμπα", "δανε", "αθρο", "συναθρο"])
    static let izwThenIz = words([
        "β", "βαθυρι", "βαρκ", "μαρκ", "λ", "μ", "κορν", "π", "ιμπ", "ρ", "μαρ", "αμπαρ", "γκρ", "βολβορ", "γλυκορ",
        "πιπερορ", "πρ", "μπρ", "αρρ", "γλυκυρ", "πολυρ", "λου",
    ])
    static let wthika = suffixes(["ωθηκα", "ωθηκε", "ωθηκαμε", "ωθηκανε", "ωθηκατε", "ωθηκαν", "ωθηκεσ"])
    static let wthikaThenWn = words(["βι", "λι", "αλ", "εν", "σ", "χ", "υψ", "ζω"])
    static let isa = suffixes(["ισα", "ισαμε", "ισανε", "ισε", "ισατε", "ισαν", "ισεσ"])
    /// Stems that take back ι after -ισα (S3) or -ισω (S4).
    static let isaThenI = words([
        "ξαναπα", "επα", "περιπα", "αναμπα", "εμπα", "χαρτοπα", "εξαρχα", "κλε", "εκλε", "απεκλε", "αποκλε", "εσωκλε",
        "δανε", "πε", "επε", "μετεπε", "εσε", "αθρο", "συναθρο",
    ])
    static let isaThenIs = words([
        "γε", "γκε", "γκ", "μ", "πουκαμ", "κομ", "αν", "ολο", "π", "λαρ", "δημοκρατ", "αφ", "γιγαντοαφ",
    ])
    static let isw = suffixes(["ισουμε", "ισουνε", "ισετε", "ισει", "ισουν", "ισεισ", "ισω"])
    static let istos = suffixes([
        "ιστα", "ιστε", "ιστη", "ιστοι", "ιστων", "ιστο", "ιστεσ", "ιστησ", "ιστοσ", "ιστουσ", "ιστου",
    ])
    static let istosThenI = words(["κλε", "εσωκλε", "πλε", "δανε", "σε", "ασε", "συναθρο"])
    static let istosThenIst = words([
        "ατα", "φα", "ηφα", "μεγ", "λυγ", "ηδ", "καθ", "εχθ", "κακ", "μακ", "σκ", "φιλ", "κυλ", "μ", "γεμ", "αχν",
        "π", "απ", "εμπ", "ευπ", "αρ", "αορ", "γυρ", "χρ", "χωρ", "κτ", "ακτ", "χτ", "αχτ", "ταχ", "σχ", "ασχ", "υψ",
    ])
    static let ismos = suffixes(["ισμοι", "ισμων", "ισμο", "ισμοσ", "ισμουσ", "ισμου"])
    static let ismosThenIsm = words(["εγκλε", "αποκλε", "σε", "μετασε", "μικροσε"])
    static let ismosThenI = words(["δανε", "αντιδανε"])
    /// Endings (not whole words) that lose their last two letters once -ισμος is gone.
    static let ismosShortened = suffixes([
        "ατομικ", "εθνικ", "τοπικ", "εκλεκτικ", "σκεπτικ", "γνωστικ", "αγνωστικ", "αλεξανδριν", "θεατριν", "βυζαντιν",
    ])
    static let araki = suffixes(["ουδακια", "αρακια", "ουδακι", "αρακι"])
    static let arakiThenArak = words(["σ", "χ"])
    static let aki = suffixes(["ακια", "αρακια", "ιτσα", "ακι", "αρακι", "ιτσων", "ιτσασ", "ιτσεσ"])
    static let akiThenAk = words([
        "βαμβ", "σλοβ", "τσεχοσλοβ", "τζ", "κ", "καπακ", "σοκ", "σκ", "μαλ", "πλ", "λουλ", "φυλ", "καιμ", "κλιμ",
        "φαρμ", "σπαν", "κον", "κατραπ", "ρ", "βρ", "λαβρ", "αμβρ", "μερ", "ανθρ", "κορ", "σ", "ναγκασ", "μουστ",
        "ρυ", "φ", "σφ", "αλισφ", "χ",
    ])
    static let akiThenIts = words([
        "β", "καρδ", "ζ", "βαλ", "γλ", "τριπολ", "γιαν", "ηγουμεν", "μακρυν", "π", "πατερ", "τοσ", "νυφ",
    ])
    static let idio = suffixes(["ιδια", "ιδιων", "ιδιο"])
    static let idioThenId = words(["ψαλ", "αιφν", "ολο", "ιρ"])
    static let idioThenIdAfter = suffixes(["ε", "παιχν"])
    static let iskos = suffixes(["ισκε", "ισκο", "ισκοσ", "ισκου"])
    static let iskosThenIsk = words(["ιβ", "δ", "φραγκ", "λυκ", "οβελ", "μην", "ρ"])

    // Steps 2a–2d: plurals in -αδες, -εδες, -ουδες, -εως.
    static let ades = suffixes(["αδων", "αδεσ"])
    /// Endings after which -αδ does not come back.
    static let adesKeptOff = suffixes(["γιαγι", "θει", "οκ", "μαμ", "μαν", "μπαμπ", "πεθερ", "πατερ", "κυρ", "νταντ"])
    static let edes = suffixes(["εδων", "εδεσ"])
    static let edesThenEdAfter = suffixes(["μιλ", "δαπ", "γηπ", "ιπ", "εμπ", "οπ", "κρασπ", "υπ"])
    static let oudes = suffixes(["ουδων", "ουδεσ"])
    static let oudesThenOudAfter = suffixes([
        "τραγ", "φε", "καλιακ", "αρκ", "σκ", "πεταλ", "βελ", "λουλ", "φλ", "χν", "πλεξ", "σπ", "φρ", "σ", "λιχ",
    ])
    static let ews = suffixes(["εων", "εωσ"])
    static let ewsThenE = words(["δ", "ιδ", "θ", "γαλ", "ελ", "ν", "π", "παρ"])

    // Steps 3 and 4: -ια, -ικος.
    static let ia = suffixes(["ια", "ιων", "ιου"])
    static let ikos = suffixes(["ικα", "ικων", "ικο", "ικου"])
    static let ikosThenIk = words([
        "αδ", "συναδ", "καταδ", "αντιδ", "ενδ", "φυλοδ", "υποδ", "πρωτοδ", "εξωδ", "ηθ", "ανηθ", "ξικ", "αλ",
        "αμμοχαλ", "συνομηλ", "μπολ", "μουλ", "τσαμ", "βρωμ", "αμαν", "μπαν", "καλλιν", "ποστελν", "φιλον", "καλπ",
        "γερ", "χασ", "μποσ", "πλιατσ", "πετσ", "πιτσ", "φυσ", "μπαγιατ", "νιτ", "πικαντ", "σερτ",
    ])

    // Steps 5a–5m: verb endings.
    static let ameLonger = suffixes(["αγαμε", "ηκαμε", "ηθηκαμε", "ησαμε", "ουσαμε"])
    static let ameThenAm = words([
        "βουβ", "ξεθ", "πεθ", "αποθ", "αποκ", "ουλ", "αναπ", "πικρ", "ποτ", "αποστ", "χ", "σιχ",
    ])
    static let aneLonger = suffixes([
        "αγανε", "ηκανε", "ηθηκανε", "ησανε", "ουσανε", "οντανε", "ιοντανε", "ουντανε", "ιουντανε", "οτανε", "ιοτανε",
    ])
    static let aneLongerThenAgan = words(["τρ", "τσ"])
    static let aneThenAn = words([
        "ταβ", "νταβ", "ψηλοταβ", "λιβ", "κλιβ", "ξηροκλιβ", "γ", "αγ", "τραγ", "τσαγ", "αθιγγ", "τσιγγ", "ατσιγγ",
        "στεγ", "απηγ", "σιγ", "ανοργ", "ενοργ", "καλπουζ", "θ", "μωαμεθ", "πιθ", "απιθ", "δεκ", "πελεκ", "ικ",
        "ανικ", "βουλκ", "βασκ", "βραχυκ", "γαλ", "καταγαλ", "ολογαλ", "βαθυγαλ", "μελ", "καστελ", "πορτολ", "πλ",
        "διπλ", "λαοπλ", "ψυχοπλ", "ουλ", "μ", "ολιγοδαμ", "μουσουλμ", "δραδουμ", "βραχμ", "ν", "αμερικαν", "π",
        "αδαπ", "χαμηλοδαπ", "πολυδαπ", "κοπ", "υποκοπ", "τσοπ", "σπ", "ερ", "γερ", "βετερ", "λουθηρ", "κορμορ",
        "περιτρ", "ουρ", "σ", "βασ", "πολισ", "σαρακατσ", "θυσ", "διατ", "πλατ", "τσαρλατ", "τετ", "πουριτ", "σουλτ",
        "μαιντ", "ζωντ", "καστ", "φ", "διαφ", "στεφ", "φωτοστεφ", "περηφ", "υπερηφ", "κοιλαρφ", "πενταρφ", "ορφ", "χ",
        "αμηχ", "βιομηχ", "μεγλοβιομηχ", "καπνοβιομηχ", "μικροβιομηχ", "πολυμηχ", "λιχ",
    ])
    static let eteThenEtAfter = suffixes([
        "ενδ", "συνδ", "οδ", "διαθ", "καθ", "ραθ", "ταθ", "τιθ", "εκθ", "ενθ", "συνθ", "ροθ", "υπερθ", "σθ", "ευθ",
        "αρκ", "ωφελ", "βολ", "αιν", "πον", "ρον", "συν", "βαρ", "βρ", "αιρ", "φορ", "ευρ", "πυρ", "χωρ", "νετ", "σχ",
    ])
    static let eteThenEt = words([
        "παγ", "δ", "αδ", "θ", "αθ", "τοκ", "σκ", "παρακαλ", "σκελ", "απλ", "εμ", "αν", "βεν", "βαρον", "κοπ", "σερπ",
        "αβαρ", "εναρ", "αβρ", "μπορ", "θαρρ", "ντρ", "υ", "νιφ", "συρφ",
    ])
    static let ontas = suffixes(["οντασ", "ωντασ"])
    static let omaste = suffixes(["ομαστε", "ιομαστε"])
    static let iesteThenIest = words(["π", "απ", "ακαταπ", "συμπ", "ασυμπ", "αμεταμφ"])
    static let esteThenIest = words(["ζ", "αλ", "παρακαλ", "εκτελ", "μ", "ξ", "προ", "αρ", "νισ"])
    static let ithika = suffixes(["ηθηκα", "ηθηκε", "ηθηκεσ"])
    static let ika = suffixes(["ηκα", "ηκε", "ηκεσ"])
    static let ikaThenIkAfter = suffixes(["πιθ", "οθ", "ναρθ", "σκουλ", "σκωλ", "σφ"])
    static let ikaThenIk = words(["θ", "διαθ", "παρακαταθ", "συνθ", "προσθ"])
    static let ousa = suffixes(["ουσα", "ουσε", "ουσεσ"])
    static let ousaThenOusAfter = suffixes([
        "φαγ", "ληγ", "φρυδ", "μαντιλ", "μαλλ", "ομ", "βλεπ", "ποδαρ", "κυματ", "πρωτ", "λαχ", "πανταχ",
    ])
    static let ousaThenOus = words([
        "τσα", "χαδ", "μεδ", "λαμπιδ", "δε", "πλε", "μεσαζ", "δεσποζ", "αιθ", "φαρμακ", "αγκ", "ανηκ", "λ", "μ", "αμ",
        "βρομ", "υποτειν", "εκλιπ", "ρ", "ενδιαφερ", "αναρρ", "πατ", "καθαρευ", "δευτερευ", "λεχ",
    ])
    static let aga = suffixes(["αγα", "αγε", "αγεσ"])
    /// Endings after which -αγ comes back (true), except the longer ones that keep it off (false).
    static let agaThenAgAfter: [(Word, Bool)] =
        suffixes(["πελ", "λλ", "σμην", "ρπ", "πρ", "φρ", "χορτ", "οφ", "σφ", "λοχ"]).map { ($0.0, true) }
        + suffixes(["ψοφ", "ναυλοχ"]).map { ($0.0, false) }
    static let agaThenAg = words([
        "αμαλλι", "λ", "αμαλ", "μ", "ουλαμ", "εν", "δερβεν", "π", "αειπ", "αρτιπ", "συμπ", "νεοπ", "κροκαλοπ", "ολοπ",
        "προσωποπ", "σιδηροπ", "δροσοπ", "ασπ", "ανυπ", "ρ", "ασπαρ", "χαρ", "αχαρ", "απερ", "τρ", "ουρ", "τ", "διατ",
        "επιτ", "συντ", "ομοτ", "νομοτ", "αποτ", "υποτ", "αβαστ", "αιμοστ", "προστ", "ανυστ", "ναυ", "αφ", "ξεφ",
        "αδηφ", "παμφ", "πολυφ",
    ])
    static let isi = suffixes(["ησα", "ησε", "ησου"])
    static let isiThenIs = words(["ν", "δωδεκαν", "επταν", "μεγαλον", "ερημον", "χερσον"])
    static let iste = suffixes(["ηστε"])
    static let isteThenIst = words(["σβ", "ασβ", "απλ", "αειμν", "χρ", "αχρ", "κοινοχρ", "δυσχρ", "ευχρ", "παλιμψ"])
    static let oune = suffixes(["ουνε", "ηθουνε", "ησουνε"])
    static let ouneThenOun = words(["σπι", "ν", "εξων", "ρ", "στραβομουτσ", "κακομουτσ"])
    static let oume = suffixes(["ουμε", "ηθουμε", "ησουμε"])
    static let oumeThenOum = words(["αζ", "ωριοπλ", "ασουσ", "παρασουσ", "αλλοσουσ", "φ", "χ"])

    // Steps 6 and 7.
    static let mata = suffixes(["ματα", "ματων", "ματοσ"])
    static let inflections = suffixes([
        "α", "ιουμα", "ομουνα", "ιομουνα", "οσουνα", "ιοσουνα", "ε", "αγατε", "ηκατε", "ηθηκατε", "ησατε", "ουσατε",
        "ειτε", "ηθειτε", "ιεμαστε", "ουμαστε", "ιουμαστε", "ιεσαστε", "οσαστε", "ιοσαστε", "η", "ι", "αμαι", "ιεμαι",
        "ομαι", "ουμαι", "ασαι", "εσαι", "ιεσαι", "αται", "εται", "ιεται", "ονται", "ουνται", "ιουνται", "ει", "αει",
        "ηθει", "ησει", "οι", "αν", "αγαν", "ηκαν", "ηθηκαν", "ησαν", "ουσαν", "οντουσαν", "ιοντουσαν", "ονταν",
        "ιονταν", "ουνταν", "ιουνταν", "οταν", "ιοταν", "ομασταν", "ιομασταν", "οσασταν", "ιοσασταν", "ουν", "ηθουν",
        "ομουν", "ιομουν", "ησουν", "οσουν", "ιοσουν", "ων", "ηδων", "ο", "ασ", "εσ", "ηδεσ", "ησεσ", "ησ", "εισ",
        "ηθεισ", "οσ", "υσ", "ουσ", "υ", "ου", "ω", "αω", "ηθω", "ησω",
    ])
    static let comparisons = suffixes(["οτερ", "εστερ", "υτερ", "ωτερ", "οτατ", "εστατ", "υτατ", "ωτατ"])

    /// The word being stemmed, and whether any step so far has taken an ending off
    /// (Snowball's `test1`; only then does step 6 leave the word alone).
    struct Stemming {
        var w: Word
        var untouched = true

        /// Removes the longest of `endings` the word ends with; returns whether it did.
        mutating func remove(_ endings: [(Word, Void)]) -> Bool {
            guard let found = Snowball.longest(w, endings) else { return false }
            w.removeLast(found.length)
            untouched = false
            return true
        }

        mutating func remove(_ ending: String) -> Bool { remove([(Snowball.scalars(ending), ())]) }

        func endsWithAny(_ endings: [(Word, Void)]) -> Bool { Snowball.longest(w, endings) != nil }

        mutating func append(_ text: String) { w += Snowball.scalars(text) }

        /// Appends `text` when the whole word is one of `stems`; returns whether it did.
        @discardableResult
        mutating func append(_ text: String, ifOneOf stems: Set<Word>) -> Bool {
            guard stems.contains(w) else { return false }
            append(text)
            return true
        }

        /// Appends `text` after a word that ends in a letter (or ending) of `tailLength` just
        /// checked. Snowball then also tests the word before that tail against `stems` and, when
        /// it is one, writes `text` over the tail too (so "αλα" + ικ becomes "αλικικ") — an
        /// artefact of how the reference rule is grouped, kept for identical output.
        mutating func append(_ text: String, afterTail tailLength: Int, orTwiceAfter stems: Set<Word>) {
            let head = Array(w.dropLast(tailLength))
            append(text)
            if stems.contains(head) { w = head + Snowball.scalars(text) + Snowball.scalars(text) }
        }

        mutating func irregularNouns() {
            guard let found = Snowball.longest(w, GreekStemmer.irregularNouns) else { return }
            w.replaceSubrange((w.count - found.length)..., with: found.value)
            untouched = false
        }

        /// S1: -ιζω, -ιζα, -ιζουμε, …
        mutating func izw() {
            guard remove(GreekStemmer.izw) else { return }
            if !append("ι", ifOneOf: izwThenI) { append("ιζ", ifOneOf: izwThenIz) }
        }

        /// S2: -ωθηκα, …
        mutating func wthika() {
            guard remove(GreekStemmer.wthika) else { return }
            append("ων", ifOneOf: wthikaThenWn)
        }

        /// S3: -ισα, -ισαμε, …; the word ισα alone becomes ισ.
        mutating func isa() {
            if w == Snowball.scalars("ισα") {
                w.removeLast()
                return
            }
            guard remove(GreekStemmer.isa) else { return }
            if !append("ι", ifOneOf: isaThenI) { append("ισ", ifOneOf: isaThenIs) }
        }

        /// S4: -ισω, -ισουμε, …
        mutating func isw() {
            guard remove(GreekStemmer.isw) else { return }
            append("ι", ifOneOf: isaThenI)
        }

        /// S5: -ιστος, -ιστη, …
        mutating func istos() {
            guard remove(GreekStemmer.istos) else { return }
            if !append("ι", ifOneOf: istosThenI) { append("ιστ", ifOneOf: istosThenIst) }
        }

        /// S6: -ισμος, -ισμοι, …; after some stems -ικ/-ιν goes too (αγνωστικισμος → αγνωστ).
        mutating func ismos() {
            guard remove(GreekStemmer.ismos) else { return }
            if append("ισμ", ifOneOf: ismosThenIsm) || append("ι", ifOneOf: ismosThenI) { return }
            if endsWithAny(ismosShortened) { w.removeLast(2) }
        }

        /// S7: -αρακι, -ουδακι, …
        mutating func araki() {
            guard remove(GreekStemmer.araki) else { return }
            append("αρακ", ifOneOf: arakiThenArak)
        }

        /// S8: -ακι, -ιτσα, …
        mutating func aki() {
            guard remove(GreekStemmer.aki) else { return }
            if append("ακ", ifOneOf: akiThenAk) || append("ιτσ", ifOneOf: akiThenIts) { return }
            if Snowball.ends(w, with: "κορ") { append("ιτσ") }
        }

        /// S9: -ιδιο, -ιδια, -ιδιων.
        mutating func idio() {
            guard remove(GreekStemmer.idio) else { return }
            if append("ιδ", ifOneOf: idioThenId) { return }
            if endsWithAny(idioThenIdAfter) { append("ιδ") }
        }

        /// S10: -ισκος, -ισκε, …
        mutating func iskos() {
            guard remove(GreekStemmer.iskos) else { return }
            append("ισκ", ifOneOf: iskosThenIsk)
        }

        /// 2a: -αδες, -αδων; -αδ comes back unless the stem is a kinship word like μαμ or πατερ.
        /// Steps 2a–2c leave `untouched` as it was.
        mutating func ades() {
            guard let found = Snowball.longest(w, GreekStemmer.ades) else { return }
            w.removeLast(found.length)
            if !endsWithAny(adesKeptOff) { append("αδ") }
        }

        /// 2b: -εδες, -εδων.
        mutating func edes() {
            guard let found = Snowball.longest(w, GreekStemmer.edes) else { return }
            w.removeLast(found.length)
            if endsWithAny(edesThenEdAfter) { append("εδ") }
        }

        /// 2c: -ουδες, -ουδων.
        mutating func oudes() {
            guard let found = Snowball.longest(w, GreekStemmer.oudes) else { return }
            w.removeLast(found.length)
            if endsWithAny(oudesThenOudAfter) { append("ουδ") }
        }

        /// 2d: -εως, -εων.
        mutating func ews() {
            guard remove(GreekStemmer.ews) else { return }
            append("ε", ifOneOf: ewsThenE)
        }

        /// 3: -ια, -ιου, -ιων; ι comes back after a vowel.
        mutating func ia() {
            guard remove(GreekStemmer.ia) else { return }
            if let last = w.last, vowels.contains(last) { append("ι") }
        }

        /// 4: -ικα, -ικο, -ικου, -ικων; -ικ comes back after a vowel or a listed stem.
        mutating func ikos() {
            guard remove(GreekStemmer.ikos) else { return }
            if let last = w.last, vowels.contains(last) {
                append("ικ", afterTail: 1, orTwiceAfter: ikosThenIk)
            } else {
                append("ικ", ifOneOf: ikosThenIk)
            }
        }

        /// 5a: -αμε (and -αγαμε, -ησαμε, … before it); the word αγαμε alone becomes αγαμ.
        mutating func ame() {
            if w == Snowball.scalars("αγαμε") { w.removeLast() }
            _ = remove(ameLonger)
            guard remove("αμε") else { return }
            append("αμ", ifOneOf: ameThenAm)
        }

        /// 5b: -ανε (and -αγανε, -ησανε, … before it).
        mutating func ane() {
            if remove(aneLonger) { append("αγαν", ifOneOf: aneLongerThenAgan) }
            guard remove("ανε") else { return }
            if let last = w.last, vowelsButU.contains(last) {
                append("αν", afterTail: 1, orTwiceAfter: aneThenAn)
            } else {
                append("αν", ifOneOf: aneThenAn)
            }
        }

        /// 5c: -ετε (and -ησετε before it).
        mutating func ete() {
            _ = remove("ησετε")
            guard remove("ετε") else { return }
            if let last = w.last, vowelsButU.contains(last) {
                append("ετ", afterTail: 1, orTwiceAfter: eteThenEt)
            } else if let found = Snowball.longest(w, eteThenEtAfter) {
                append("ετ", afterTail: found.length, orTwiceAfter: eteThenEt)
            } else {
                append("ετ", ifOneOf: eteThenEt)
            }
        }

        /// 5d: -οντας, -ωντας.
        mutating func ontas() {
            guard remove(GreekStemmer.ontas) else { return }
            if w == Snowball.scalars("αρχ") {
                append("οντ")
            } else if Snowball.ends(w, with: "κρε") {
                append("ωντ")
            }
        }

        /// 5e: -ομαστε, -ιομαστε.
        mutating func omaste() {
            guard remove(GreekStemmer.omaste) else { return }
            if w == Snowball.scalars("ον") { append("ομαστ") }
        }

        /// 5f: -εστε (and -ιεστε before it).
        mutating func este() {
            if remove("ιεστε") { append("ιεστ", ifOneOf: iesteThenIest) }
            guard remove("εστε") else { return }
            append("ιεστ", ifOneOf: esteThenIest)
        }

        /// 5g: -ηκα, -ηκες, -ηκε (and -ηθηκα, … before them).
        mutating func ika() {
            _ = remove(ithika)
            guard remove(GreekStemmer.ika) else { return }
            if endsWithAny(ikaThenIkAfter) {
                append("ηκ")
            } else {
                append("ηκ", ifOneOf: ikaThenIk)
            }
        }

        /// 5h: -ουσα, -ουσες, -ουσε.
        mutating func ousa() {
            guard remove(GreekStemmer.ousa) else { return }
            if endsWithAny(ousaThenOusAfter) {
                append("ουσ")
            } else {
                append("ουσ", ifOneOf: ousaThenOus)
            }
        }

        /// 5i: -αγα, -αγες, -αγε.
        mutating func aga() {
            guard remove(GreekStemmer.aga) else { return }
            if Snowball.ends(w, with: "κολλ") {
                append("αγ")
            } else if let found = Snowball.longest(w, agaThenAgAfter) {
                if found.value { append("αγ") }
            } else {
                append("αγ", ifOneOf: agaThenAg)
            }
        }

        /// 5j: -ησε, -ησου, -ησα.
        mutating func isi() {
            guard remove(GreekStemmer.isi) else { return }
            append("ησ", ifOneOf: isiThenIs)
        }

        /// 5k: -ηστε.
        mutating func iste() {
            guard remove(GreekStemmer.iste) else { return }
            append("ηστ", ifOneOf: isteThenIst)
        }

        /// 5l: -ουνε, -ησουνε, -ηθουνε.
        mutating func oune() {
            guard remove(GreekStemmer.oune) else { return }
            append("ουν", ifOneOf: ouneThenOun)
        }

        /// 5m: -ουμε, -ησουμε, -ηθουμε.
        mutating func oume() {
            guard remove(GreekStemmer.oume) else { return }
            append("ουμ", ifOneOf: oumeThenOum)
        }

        /// 6: -ματα, -ματος, -ματων become -μα; then, if no step took an ending off, the
        /// longest plain noun, adjective or verb inflection goes.
        mutating func inflection() {
            if let found = Snowball.longest(w, mata) { w.replaceSubrange((w.count - found.length)..., with: Snowball.scalars("μα")) }
            guard untouched, let found = Snowball.longest(w, inflections) else { return }
            w.removeLast(found.length)
        }

        /// 7: comparative and superlative endings (-οτερ, -εστατ, …).
        mutating func comparison() {
            if let found = Snowball.longest(w, comparisons) { w.removeLast(found.length) }
        }
    }
}
