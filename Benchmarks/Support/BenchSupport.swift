// Helpers shared by the benchmark programs: JSON-line output, resident memory,
// percentiles and durations.
import Foundation

/// glibc's malloc_trim: returns freed heap to the OS so resident memory reflects what
/// is live (a build's transient buffers otherwise stay mapped).
@_silgen_name("malloc_trim") func mallocTrim(_ pad: Int) -> Int32

@_silgen_name("malloc_stats") func mallocStats()

/// glibc's per-arena report on standard error (FRESHET_BENCH_MALLOC_STATS=1), to tell
/// live heap from fragmentation when reading resident memory.
public func printMallocStatistics() {
    if ProcessInfo.processInfo.environment["FRESHET_BENCH_MALLOC_STATS"] == "1" { mallocStats() }
}

/// Exits with `message` on standard error, prefixed by the program's name.
public func fail(_ message: String) -> Never {
    let program = (CommandLine.arguments.first ?? "bench").split(separator: "/").last.map(String.init) ?? "bench"
    FileHandle.standardError.write(Data("\(program): \(message)\n".utf8))
    exit(2)
}

/// Prints one JSON object as a line on standard output (keys sorted).
public func emit(_ fields: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

/// Resident set size in bytes, after returning freed heap to the OS.
public func residentBytes() -> Int {
    _ = mallocTrim(0)
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb * 1024
}

/// Resident anonymous and file-backed bytes (/proc/self/status RssAnon, RssFile).
public func residentParts() -> (anonymous: Int, file: Int) {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
    func field(_ name: String) -> Int {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb * 1024
    }
    return (field("RssAnon:"), field("RssFile:"))
}

/// The `p` quantile (0…1) of `values`, nearest rank.
public func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

public func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// The command line as `--name value` options, read in order.
public final class OptionReader {
    private var arguments = CommandLine.arguments.dropFirst().makeIterator()

    public init() {}

    /// The next option name, or nil at the end.
    public func next() -> String? { arguments.next() }

    /// The value following option `name`; exits with a message when there is none.
    public func value(_ name: String) -> String {
        guard let value = arguments.next() else { fail("\(name) needs a value") }
        return value
    }
}
