import FreshetRocksDB
import FreshetStorage

/// A parsed `--storage` URL. Cloud schemes (`s3://`, `gs://`, `az://`, `hybrid://`)
/// join this list when their backends exist.
public enum StorageLocation: Sendable, Equatable {
    case rocksdb(path: String, options: [String: String])
    case memory

    /// Parses `rocksdb://PATH[?option=value&…]` or `memory://`.
    public static func parse(_ text: String) throws -> StorageLocation {
        if text == "memory://" || text == "memory" { return .memory }
        guard text.hasPrefix("rocksdb://") else {
            throw ConfigurationError("unknown storage URL \(text); use rocksdb://PATH (for example rocksdb://./data) or memory://")
        }
        let rest = String(text.dropFirst("rocksdb://".count))
        let parts = rest.split(separator: "?", maxSplits: 1).map(String.init)
        guard let path = parts.first, !path.isEmpty else {
            throw ConfigurationError("rocksdb:// needs a directory, e.g. rocksdb://./data")
        }
        var options: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard keyValue.count == 2 else { throw ConfigurationError("storage option \(pair) must be key=value") }
                options[keyValue[0]] = keyValue[1]
            }
        }
        return .rocksdb(path: path, options: options)
    }

    /// Opens the backend. The caller closes RocksDB after the engine has drained.
    public func open() throws -> any StorageBackend {
        switch self {
        case .memory:
            return MemoryBackend()
        case .rocksdb(let path, let options):
            let configuration: RocksDBConfiguration
            do {
                configuration = try RocksDBConfiguration(path: path, options: options)
            } catch let error as StorageError {
                throw ConfigurationError(error.message)
            }
            return try RocksDBBackend(configuration: configuration)
        }
    }
}
