/// Stop words removed when `remove_stopwords` is on, per language: the lists tantivy
/// and turbopuffer apply (Lucene's 33 English words, Snowball's lists for twelve more
/// languages), generated into StopWordLists.swift. Arabic, Greek, Romanian, Tamil and
/// Turkish have none: removing their stop words removes nothing, as in the reference.
public enum StopWords {
    /// The list of `language`, nil when it has none.
    public static func list(for language: TextAnalyzerOptions.Language) -> Set<String>? {
        switch language {
        case .english: english
        case .danish: danish
        case .dutch: dutch
        case .finnish: finnish
        case .french: french
        case .german: german
        case .hungarian: hungarian
        case .italian: italian
        case .norwegian: norwegian
        case .portuguese: portuguese
        case .russian: russian
        case .spanish: spanish
        case .swedish: swedish
        case .arabic, .greek, .romanian, .tamil, .turkish: nil
        }
    }

    static func words(_ text: String) -> Set<String> {
        Set(text.split(whereSeparator: \.isWhitespace).map(String.init))
    }
}
