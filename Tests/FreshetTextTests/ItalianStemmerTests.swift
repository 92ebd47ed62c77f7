import Foundation
import XCTest
@testable import FreshetText

final class ItalianStemmerTests: XCTestCase {
    /// Every word of the fixture (Italian from this machine's gettext catalogs, stems
    /// from the Snowball project's own implementation; Fixtures/make_italian_stems.py)
    /// stems the same here.
    func testStemsMatchSnowball() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/italian-stems.tsv")
        let lines = try String(contentsOf: path, encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 5000)
        var mismatches: [String] = []
        for line in lines {
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            let got = ItalianStemmer.stem(parts[0])
            if got != parts[1] { mismatches.append("\(parts[0]): \(got) (Snowball: \(parts[1]))") }
        }
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) of \(lines.count) words differ: \(mismatches.prefix(30).joined(separator: "; "))")
    }

    func testTheAnalyzerStemsItalianWhenAsked() {
        var options = TextAnalyzerOptions()
        options.language = .italian
        options.stemming = true
        let analyzer = TextAnalyzer(options)
        XCTAssertEqual(analyzer.terms("Soluzioni"), analyzer.terms("soluzione"))
        XCTAssertEqual(analyzer.terms("amiche rapidamente"), ["amic", "rapid"])
    }
}
