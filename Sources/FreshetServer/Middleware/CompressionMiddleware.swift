import CompressNIO
import HTTPTypes
import Hummingbird
import NIOCore

/// gzip in both directions: request bodies sent with `Content-Encoding: gzip` are
/// inflated (bounded, so a small bomb cannot exhaust memory); responses above a size
/// threshold are deflated when the client sends `Accept-Encoding: gzip`.
struct CompressionMiddleware: RouterMiddleware {
    typealias Context = FreshetRequestContext
    let maxBodyBytes: Int
    let maxDecompressedBytes: Int
    let compressAbove: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        if let encoding = request.headers[.contentEncoding]?.lowercased(), encoding != "identity" {
            guard encoding == "gzip" || encoding == "deflate" else {
                throw APIError(.unsupportedMediaType, "Content-Encoding \(encoding) is not supported; send gzip, deflate or an uncompressed body")
            }
            var compressed = try await request.collectBody(upTo: maxBodyBytes)
            let inflated: ByteBuffer
            do {
                inflated = try compressed.decompress(with: encoding == "gzip" ? .gzip() : .deflate(), maxSize: maxDecompressedBytes)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                throw APIError(.contentTooLarge, "the decompressed body exceeds \(maxDecompressedBytes) bytes; split the write into smaller batches")
            } catch {
                throw APIError(.badRequest, "the request body is not valid \(encoding) data: \(error)")
            }
            request.body = .init(buffer: inflated)
        }
        var response = try await next(request, context)
        guard let accept = request.headers[.acceptEncoding], accept.contains("gzip"),
              response.headers[.contentEncoding] == nil else { return response }
        if let length = response.headers[.contentLength].flatMap(Int.init), length < compressAbove { return response }
        // Response bodies here are single buffers (JSON built in memory).
        var buffer = try await Self.collect(response.body)
        guard buffer.readableBytes >= compressAbove else {
            response.body = .init(byteBuffer: buffer)
            return response
        }
        let deflated = try buffer.compress(with: .gzip())
        response.body = .init(byteBuffer: deflated)
        response.headers[.contentEncoding] = "gzip"
        response.headers[.contentLength] = String(deflated.readableBytes)
        response.headers[.vary] = "Accept-Encoding"
        return response
    }

    static func collect(_ body: ResponseBody) async throws -> ByteBuffer {
        let collector = BodyCollector()
        try await body.write(collector)
        return collector.buffer
    }
}

/// Gathers a response body written through `ResponseBodyWriter`.
final class BodyCollector: ResponseBodyWriter, @unchecked Sendable {
    var buffer = ByteBuffer()
    func write(_ buffer: ByteBuffer) async throws {
        var copy = buffer
        self.buffer.writeBuffer(&copy)
    }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
