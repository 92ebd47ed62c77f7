import FreshetStorage

/// The steps of one multipart upload as a pure state machine: feed it events, it
/// returns the actions to take. The S3 backend drives it; tests drive it without I/O.
///
/// Parts are uploaded at most `concurrency` at a time; the first failed part stops
/// new parts, waits for those in flight, then aborts the upload (so no orphan parts
/// are billed) and reports the failure. A failed completion is reported as it is:
/// the caller resolves an ambiguous completion by re-reading the object.
public struct MultipartUploadMachine: Sendable {
    public struct CompletedPart: Sendable, Equatable {
        public var number: Int
        public var etag: String
    }

    public enum Action: Sendable, Equatable {
        case create
        case upload(part: Int, range: Range<Int>)
        case complete(uploadID: String, parts: [CompletedPart])
        case abort(uploadID: String)
        /// Done: the object exists at this version.
        case succeed(etag: String)
        /// Done: the upload failed (and was aborted if it had started).
        case fail(reason: String)
    }

    public enum Event: Sendable, Equatable {
        case created(uploadID: String)
        case createFailed(reason: String)
        case uploaded(part: Int, etag: String)
        case uploadFailed(part: Int, reason: String)
        case completed(etag: String)
        case completeFailed(reason: String)
        case aborted
    }

    enum Phase: Equatable { case idle, creating, uploading, completing, aborting, done }

    public let partRanges: [Range<Int>]
    let concurrency: Int
    var phase: Phase = .idle
    var uploadID = ""
    var nextPart = 0
    var inFlight = 0
    var completed: [Int: String] = [:]
    var failure: String? = nil

    public init(size: Int, partSize: Int, concurrency: Int) {
        precondition(partSize > 0 && size > 0, "multipart upload needs a positive size and part size")
        var ranges: [Range<Int>] = []
        var start = 0
        while start < size {
            ranges.append(start..<min(size, start + partSize))
            start += partSize
        }
        self.partRanges = ranges
        self.concurrency = max(1, concurrency)
    }

    public mutating func start() -> [Action] {
        precondition(phase == .idle, "a multipart upload starts once")
        phase = .creating
        return [.create]
    }

    public mutating func handle(_ event: Event) -> [Action] {
        switch (phase, event) {
        case (.creating, .created(let id)):
            uploadID = id
            phase = .uploading
            return launchParts()
        case (.creating, .createFailed(let reason)):
            phase = .done
            return [.fail(reason: "starting the multipart upload failed: \(reason)")]
        case (.uploading, .uploaded(let part, let etag)):
            inFlight -= 1
            completed[part] = etag
            return afterPart()
        case (.uploading, .uploadFailed(let part, let reason)):
            inFlight -= 1
            if failure == nil { failure = "part \(part) failed: \(reason)" }
            return afterPart()
        case (.completing, .completed(let etag)):
            phase = .done
            return [.succeed(etag: etag)]
        case (.completing, .completeFailed(let reason)):
            phase = .done
            return [.fail(reason: "completing the multipart upload failed: \(reason)")]
        case (.aborting, .aborted):
            phase = .done
            return [.fail(reason: failure ?? "aborted")]
        default:
            preconditionFailure("multipart upload got \(event) in phase \(phase)")
        }
    }

    private mutating func launchParts() -> [Action] {
        var actions: [Action] = []
        while failure == nil && inFlight < concurrency && nextPart < partRanges.count {
            actions.append(.upload(part: nextPart + 1, range: partRanges[nextPart]))
            nextPart += 1
            inFlight += 1
        }
        return actions
    }

    private mutating func afterPart() -> [Action] {
        if failure != nil {
            guard inFlight == 0 else { return [] }
            phase = .aborting
            return [.abort(uploadID: uploadID)]
        }
        if completed.count == partRanges.count {
            phase = .completing
            let parts = completed.keys.sorted().map { CompletedPart(number: $0, etag: completed[$0]!) }
            return [.complete(uploadID: uploadID, parts: parts)]
        }
        return launchParts()
    }
}
