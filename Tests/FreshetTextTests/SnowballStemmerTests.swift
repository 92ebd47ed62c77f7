import Foundation
import XCTest
@testable import FreshetText

/// Every language's Snowball stemmer against the Snowball project's own implementation
/// (PyPI `snowballstemmer` 3.0.1), word for word, on words from this machine's gettext
/// catalogs (Fixtures/make_stems.py writes the fixtures; English has its own test).
final class SnowballStemmerTests: XCTestCase {
    func assertMatchesFixture(_ language: TextAnalyzerOptions.Language, minimum: Int = 5000, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(language.rawValue)-stems.tsv")
        let lines = try String(contentsOf: path, encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThan(lines.count, minimum, file: file, line: line)
        var mismatches: [String] = []
        var changed = 0
        for entry in lines {
            let parts = entry.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            let got = language.stem(parts[0])
            if got != parts[1] { mismatches.append("\(parts[0]): \(got) (Snowball: \(parts[1]))") }
            if parts[1] != parts[0] { changed += 1 }
        }
        XCTAssertTrue(mismatches.isEmpty, "\(language): \(mismatches.count) of \(lines.count) words differ: \(mismatches.prefix(30).joined(separator: "; "))",
                      file: file, line: line)
        XCTAssertGreaterThan(changed, lines.count / 5, "\(language): the fixture should mostly hold words the stemmer changes", file: file, line: line)
    }

    func testArabicMatchesSnowball() throws { try assertMatchesFixture(.arabic) }
    func testDanishMatchesSnowball() throws { try assertMatchesFixture(.danish) }
    func testDutchMatchesSnowball() throws { try assertMatchesFixture(.dutch) }
    func testFinnishMatchesSnowball() throws { try assertMatchesFixture(.finnish) }
    func testFrenchMatchesSnowball() throws { try assertMatchesFixture(.french) }
    func testGermanMatchesSnowball() throws { try assertMatchesFixture(.german) }
    func testGreekMatchesSnowball() throws { try assertMatchesFixture(.greek) }
    func testHungarianMatchesSnowball() throws { try assertMatchesFixture(.hungarian) }
    func testItalianMatchesSnowball() throws { try assertMatchesFixture(.italian) }
    func testNorwegianMatchesSnowball() throws { try assertMatchesFixture(.norwegian) }
    func testPortugueseMatchesSnowball() throws { try assertMatchesFixture(.portuguese) }
    func testRomanianMatchesSnowball() throws { try assertMatchesFixture(.romanian) }
    func testRussianMatchesSnowball() throws { try assertMatchesFixture(.russian) }
    func testSpanishMatchesSnowball() throws { try assertMatchesFixture(.spanish) }
    func testSwedishMatchesSnowball() throws { try assertMatchesFixture(.swedish) }
    func testTamilMatchesSnowball() throws { try assertMatchesFixture(.tamil) }
    func testTurkishMatchesSnowball() throws { try assertMatchesFixture(.turkish) }

    /// No stemmer traps on awkward input.
    func testAwkwardInputIsReturnedWithoutTrapping() {
        let inputs = ["", "a", "123", "ß", "e\u{301}te\u{301}", "\u{301}", "日本語", "🙂", String(repeating: "ab", count: 40), "'", "i\u{307}"]
        for language in TextAnalyzerOptions.Language.allCases {
            for input in inputs { XCTAssertLessThanOrEqual(language.stem(input).unicodeScalars.count, input.unicodeScalars.count + 2, "\(language) \(input)") }
        }
    }

    func terms(_ text: String, _ language: TextAnalyzerOptions.Language, stemming: Bool = true, stopWords: Bool = false) -> [String] {
        var options = TextAnalyzerOptions()
        options.language = language
        options.stemming = stemming
        options.removeStopwords = stopWords
        return TextAnalyzer(options).terms(text)
    }

    func testTheAnalyzerStemsWhenAsked() {
        XCTAssertEqual(terms("Soluciones", .spanish), terms("solución", .spanish))
        XCTAssertEqual(terms("Cantándole canciones", .spanish), ["cant", "cancion"])
        XCTAssertEqual(terms("Soluciones", .spanish, stemming: false), ["soluciones"])
        XCTAssertEqual(terms("brasileiras canções", .portuguese), ["brasileir", "cançõ"])
        XCTAssertEqual(terms("amiche rapidamente", .italian), ["amic", "rapid"])
        XCTAssertEqual(terms("Häuser", .german), terms("Haus", .german))
        XCTAssertEqual(terms("nationales nationale", .french).count, 2)
        XCTAssertEqual(Set(terms("nationales nationale", .french)).count, 1)
        XCTAssertEqual(terms("книги книга", .russian).count, 2)
        XCTAssertEqual(Set(terms("книги книга", .russian)).count, 1)
    }

    func testStopWordsFollowTheLanguage() {
        XCTAssertEqual(terms("der Hund und die Katze", .german, stemming: false, stopWords: true), ["hund", "katze"])
        XCTAssertEqual(terms("le chien et le chat", .french, stemming: false, stopWords: true), ["chien", "chat"])
        XCTAssertEqual(terms("the dog and the cat", .english, stemming: false, stopWords: true), ["dog", "cat"])
        // English's list is Lucene's 33 words, as tantivy and turbopuffer apply it.
        XCTAssertEqual(terms("we were here", .english, stemming: false, stopWords: true), ["we", "were", "here"])
        // Languages without a list keep every word.
        XCTAssertEqual(terms("ve bir kedi", .turkish, stemming: false, stopWords: true), ["ve", "bir", "kedi"])
        XCTAssertNil(StopWords.list(for: .turkish))
        XCTAssertEqual(StopWords.list(for: .spanish)?.count, 308)
    }
}
