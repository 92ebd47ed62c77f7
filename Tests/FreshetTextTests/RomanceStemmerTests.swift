import Foundation
import XCTest
@testable import FreshetText

/// The Spanish, Portuguese and Italian Snowball stemmers against the Snowball project's
/// own implementation, word for word, on words from this machine's gettext catalogs
/// (Fixtures/make_romance_stems.py writes the fixtures).
final class RomanceStemmerTests: XCTestCase {
    func assertMatchesFixture(_ language: String, _ stem: (String) -> String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(language)-stems.tsv")
        let lines = try String(contentsOf: path, encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 5000, file: file, line: line)
        var mismatches: [String] = []
        for entry in lines {
            let parts = entry.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            let got = stem(parts[0])
            if got != parts[1] { mismatches.append("\(parts[0]): \(got) (Snowball: \(parts[1]))") }
        }
        XCTAssertTrue(mismatches.isEmpty, "\(language): \(mismatches.count) of \(lines.count) words differ: \(mismatches.prefix(30).joined(separator: "; "))",
                      file: file, line: line)
    }

    func testSpanishMatchesSnowball() throws { try assertMatchesFixture("spanish", SpanishStemmer.stem) }
    func testPortugueseMatchesSnowball() throws { try assertMatchesFixture("portuguese", PortugueseStemmer.stem) }
    func testItalianMatchesSnowball() throws { try assertMatchesFixture("italian", ItalianStemmer.stem) }

    func terms(_ text: String, _ language: TextAnalyzerOptions.Language, stemming: Bool = true) -> [String] {
        var options = TextAnalyzerOptions()
        options.language = language
        options.stemming = stemming
        return TextAnalyzer(options).terms(text)
    }

    func testTheAnalyzerStemsWhenAsked() {
        XCTAssertEqual(terms("Soluciones", .spanish), terms("solución", .spanish))
        XCTAssertEqual(terms("Cantándole canciones", .spanish), ["cant", "cancion"])
        XCTAssertEqual(terms("Soluciones", .spanish, stemming: false), ["soluciones"])
        XCTAssertEqual(terms("Brasileiras", .portuguese), terms("brasileira", .portuguese))
        XCTAssertEqual(terms("brasileiras canções", .portuguese), ["brasileir", "cançõ"])
        XCTAssertEqual(terms("Soluzioni", .italian), terms("soluzione", .italian))
        XCTAssertEqual(terms("amiche rapidamente", .italian), ["amic", "rapid"])
    }
}
