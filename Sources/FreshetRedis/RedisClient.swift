import FreshetStorage
import NIOCore
import NIOPosix
import Synchronization

/// A Redis client speaking RESP2 over SwiftNIO: a few pipelined connections, opened
/// lazily and reopened after a failure; replies are matched to commands in order.
public final class RedisClient: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// `AUTH` password (Redis 6 ACL user optional).
        public var password: String?
        public var username: String?
        /// `SELECT` database.
        public var database: Int
        /// Connections used round robin. Default 4: one is enough for pipelining; a
        /// few spread large values' transfer time.
        public var connections: Int
        public var connectTimeout: Duration
        /// A command without a reply by then fails (and its connection is dropped).
        public var commandTimeout: Duration

        public init(host: String = "127.0.0.1", port: Int = 6379, password: String? = nil, username: String? = nil,
                    database: Int = 0, connections: Int = 4, connectTimeout: Duration = .seconds(2),
                    commandTimeout: Duration = .seconds(2)) {
            self.host = host
            self.port = port
            self.password = password
            self.username = username
            self.database = database
            self.connections = max(1, connections)
            self.connectTimeout = connectTimeout
            self.commandTimeout = commandTimeout
        }

        /// Parses `redis://[[user]:password@]host[:port][/db]` or `host:port`.
        public static func parse(_ text: String) throws -> Configuration {
            var rest = text
            if rest.hasPrefix("redis://") { rest.removeFirst("redis://".count) }
            var configuration = Configuration()
            if let at = rest.lastIndex(of: "@") {
                let credentials = rest[..<at]
                rest = String(rest[rest.index(after: at)...])
                if let colon = credentials.firstIndex(of: ":") {
                    let user = String(credentials[..<colon])
                    configuration.username = user.isEmpty ? nil : user
                    configuration.password = String(credentials[credentials.index(after: colon)...])
                } else {
                    configuration.password = String(credentials)
                }
            }
            if let slash = rest.firstIndex(of: "/") {
                guard let database = Int(rest[rest.index(after: slash)...]) else {
                    throw StorageError(.invalidArgument, "Redis URL \(text): the database after / must be a number")
                }
                configuration.database = database
                rest = String(rest[..<slash])
            }
            let parts = rest.split(separator: ":")
            guard let host = parts.first, !host.isEmpty else { throw StorageError(.invalidArgument, "Redis URL \(text) has no host") }
            configuration.host = String(host)
            if parts.count > 1 {
                guard let port = Int(parts[1]), (1...65535).contains(port) else {
                    throw StorageError(.invalidArgument, "Redis URL \(text): port must be 1...65535")
                }
                configuration.port = port
            }
            return configuration
        }
    }

    public let configuration: Configuration
    private let slots: Mutex<[(any Channel)?]>
    private let slotCount: Int
    private let next = Atomic<Int>(0)

    public init(configuration: Configuration) {
        self.configuration = configuration
        self.slots = Mutex([(any Channel)?](repeating: nil, count: configuration.connections))
        self.slotCount = configuration.connections
    }

    /// Sends one command; a Redis error reply is thrown as `StorageError(.io)`.
    public func command(_ arguments: [[UInt8]]) async throws -> RESPValue {
        let slot = next.wrappingAdd(1, ordering: .relaxed).oldValue % slotCount
        let channel = try await connection(slot)
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        let timeout = configuration.commandTimeout
        let scheduled = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000
                                                                         + timeout.components.attoseconds / 1_000_000_000)) {
            promise.fail(StorageError(.unavailable, "Redis command timed out after \(timeout)"))
            channel.close(promise: nil)
        }
        channel.writeAndFlush(RedisCommand(arguments: arguments, promise: promise), promise: nil)
        do {
            let reply = try await promise.futureResult.get()
            scheduled.cancel()
            if case .error(let message) = reply { throw StorageError(.io, "Redis answered an error: \(message)") }
            return reply
        } catch {
            scheduled.cancel()
            throw error
        }
    }

    public func command(_ arguments: String...) async throws -> RESPValue {
        try await command(arguments.map { Array($0.utf8) })
    }

    public func get(_ key: String) async throws -> [UInt8]? {
        try await command([Array("GET".utf8), Array(key.utf8)]).bytes
    }

    /// `SET key value [EX seconds]`.
    public func set(_ key: String, _ value: [UInt8], expireSeconds: Int? = nil) async throws {
        var arguments = [Array("SET".utf8), Array(key.utf8), value]
        if let expireSeconds { arguments += [Array("EX".utf8), Array(String(expireSeconds).utf8)] }
        _ = try await command(arguments)
    }

    public func delete(_ keys: [String]) async throws {
        guard !keys.isEmpty else { return }
        _ = try await command([Array("DEL".utf8)] + keys.map { Array($0.utf8) })
    }

    /// Closes every connection; later commands reconnect.
    public func close() async {
        let channels = slots.withLock { slots -> [(any Channel)?] in
            defer { slots = slots.map { _ in nil } }
            return slots
        }
        for channel in channels { try? await channel?.close() }
    }

    private func connection(_ slot: Int) async throws -> any Channel {
        if let channel = slots.withLock({ $0[slot] }), channel.isActive { return channel }
        let timeout = configuration.connectTimeout
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RedisHandler())
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch {
            throw StorageError(.unavailable, "cannot connect to Redis at \(configuration.host):\(configuration.port): \(error)")
        }
        // Handshake on the new connection before anyone else uses it.
        func send(_ arguments: [String]) async throws {
            let promise = channel.eventLoop.makePromise(of: RESPValue.self)
            channel.writeAndFlush(RedisCommand(arguments: arguments.map { Array($0.utf8) }, promise: promise), promise: nil)
            if case .error(let message) = try await promise.futureResult.get() {
                channel.close(promise: nil)
                throw StorageError(.io, "Redis refused \(arguments[0]): \(message)")
            }
        }
        if let password = configuration.password {
            try await send(configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password])
        }
        if configuration.database != 0 { try await send(["SELECT", String(configuration.database)]) }
        // Another task may have connected this slot meanwhile: keep the first live
        // connection (commands may be in flight on it) and drop ours, still unused.
        let winner = slots.withLock { slots -> any Channel in
            if let existing = slots[slot], existing.isActive { return existing }
            slots[slot] = channel
            return channel
        }
        if winner !== channel { channel.close(promise: nil) }
        return winner
    }
}

struct RedisCommand {
    var arguments: [[UInt8]]
    var promise: EventLoopPromise<RESPValue>
}

/// Encodes commands, decodes replies, and fulfils promises in order. A broken
/// connection fails every command still waiting on it.
final class RedisHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisCommand
    typealias OutboundOut = ByteBuffer

    private var pending: [EventLoopPromise<RESPValue>] = []
    private var pendingStart = 0
    private var buffer: ByteBuffer? = nil

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let command = unwrapOutboundIn(data)
        var out = context.channel.allocator.buffer(capacity: 64 + command.arguments.reduce(0) { $0 + $1.count + 16 })
        RESP.encode(command.arguments, into: &out)
        pending.append(command.promise)
        context.write(wrapOutboundOut(out), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffer == nil { buffer = incoming } else { buffer!.writeBuffer(&incoming) }
        do {
            while let value = try RESP.parse(&buffer!) {
                guard pendingStart < pending.count else {
                    failAll(StorageError(.corrupt, "Redis sent a reply nobody asked for"))
                    context.close(promise: nil)
                    return
                }
                pending[pendingStart].succeed(value)
                pendingStart += 1
                if pendingStart > 64 && pendingStart * 2 > pending.count {
                    pending.removeFirst(pendingStart)
                    pendingStart = 0
                }
            }
            if buffer!.readableBytes == 0 { buffer = nil } else { buffer!.discardReadBytes() }
        } catch {
            failAll(StorageError(.corrupt, "Redis reply could not be parsed: \(error)"))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(StorageError(.unavailable, "the Redis connection closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(StorageError(.unavailable, "the Redis connection failed: \(error)"))
        context.close(promise: nil)
    }

    private func failAll(_ error: StorageError) {
        for promise in pending[pendingStart...] { promise.fail(error) }
        pending.removeAll()
        pendingStart = 0
    }
}
