import Foundation
import XCTest
@testable import FreshetText

final class EnglishStemmerTests: XCTestCase {
    /// Every word of the fixture (made by Fixtures/make_english_stems.py from the
    /// Snowball project's own implementation) stems the same here.
    func testStemsMatchSnowball() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/english-stems.tsv")
        let lines = try String(contentsOf: path, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
        XCTAssertGreaterThan(lines.count, 5000)
        var mismatches: [String] = []
        for line in lines {
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            let got = EnglishStemmer.stem(parts[0])
            if got != parts[1] { mismatches.append("\(parts[0]): \(got) (Snowball: \(parts[1]))") }
        }
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) of \(lines.count) words differ: \(mismatches.prefix(30).joined(separator: "; "))")
    }

    func testNonASCIIWordsAreLeftAlone() {
        XCTAssertEqual(EnglishStemmer.stem("cafés"), "cafés")
        XCTAssertEqual(EnglishStemmer.stem("Running"), "Running")
    }
}

final class TextAnalyzerTests: XCTestCase {
    func testWordSegmentation() {
        var words: [String] = []
        TextAnalyzer.segment("Don't panic: it's 3.14, or 1,000 e.g. foo_bar—baz 日本語 naïve x.y.z end.") { words.append(String($0)) }
        XCTAssertEqual(words, ["Don't", "panic", "it's", "3.14", "or", "1,000", "e.g", "foo_bar", "baz", "日", "本", "語", "naïve", "x.y.z", "end"])
    }

    func testTokenizerVersions() {
        func words(_ text: String, _ tokenizer: TextAnalyzerOptions.Tokenizer) -> [String] {
            var out: [String] = []
            TextAnalyzer.segment(text, tokenizer: tokenizer) { out.append(String($0)) }
            return out
        }
        let text = "don't 3.14 日本 a🙂b 👩‍💻! parent_fd"
        XCTAssertEqual(words(text, .wordV3), ["don't", "3.14", "日", "本", "a", "🙂", "b", "👩‍💻", "parent_fd"])
        XCTAssertEqual(words(text, .wordV2), ["don", "t", "3", "14", "日", "本", "a", "🙂", "b", "👩‍💻", "parent", "fd"])
        XCTAssertEqual(words(text, .wordV1), ["don", "t", "3", "14", "日本", "a", "🙂", "b", "👩‍💻", "parent", "fd"])
        XCTAssertEqual(words(text, .wordV0), ["don", "t", "3", "14", "日本", "a", "b", "parent", "fd"])
    }

    func testDefaultsLowercaseAndKeepStopWords() {
        XCTAssertEqual(TextAnalyzer().terms("The Quick brown fox"), ["the", "quick", "brown", "fox"])
        var options = TextAnalyzerOptions()
        options.removeStopwords = true
        XCTAssertEqual(TextAnalyzer(options).terms("The Quick brown fox and THE lazy dog"), ["quick", "brown", "fox", "lazy", "dog"])
    }

    func testOptions() {
        var options = TextAnalyzerOptions()
        options.caseSensitive = true
        options.removeStopwords = false
        XCTAssertEqual(TextAnalyzer(options).terms("The Fox"), ["The", "Fox"])

        options = TextAnalyzerOptions()
        options.stemming = true
        XCTAssertEqual(TextAnalyzer(options).terms("running runners ran"), ["run", "runner", "ran"])

        options = TextAnalyzerOptions()
        options.asciiFolding = true
        XCTAssertEqual(TextAnalyzer(options).terms("Crème Brûlée straße Łódź"), ["creme", "brulee", "strasse", "lodz"])
        XCTAssertEqual(TextAnalyzer().terms("Crème"), ["crème"])

        options = TextAnalyzerOptions()
        options.stemming = true
        options.asciiFolding = true
        XCTAssertEqual(TextAnalyzer(options).terms("Cafés running"), ["cafes", "run"], "folding comes after stemming")

        options = TextAnalyzerOptions()
        options.maxTokenLength = 5
        XCTAssertEqual(TextAnalyzer(options).terms("short muchlonger tiny"), ["short", "tiny"])

        options = TextAnalyzerOptions()
        options.tokenizer = .preTokenizedArray
        XCTAssertEqual(TextAnalyzer(options).terms(["New York", "the"]), ["New York", "the"])
    }
}
