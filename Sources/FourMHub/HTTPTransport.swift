import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What a request came back with, before the Hub's meaning is given to it.
struct HTTPReply: Sendable {
    let status: Int
    let headers: [String: String]  // names lower-cased
    let body: Data
    let url: URL

    func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// A failure below HTTP: no reply at all (refused, dropped, timed out, cancelled).
struct TransportFailure: Error {
    let reason: String
    let cancelled: Bool
}

/// URLSession (FoundationNetworking on Linux) with redirects under our control.
///
/// Plain requests never follow redirects: the Hub's metadata lives in the headers of the first
/// response (`X-Repo-Commit`, `X-Linked-Etag`, `X-Linked-Size`), and the client decides whether
/// a redirect keeps the `Authorization` header. Streaming downloads write each piece to the
/// file as it arrives, so a dropped connection keeps what was received and the next attempt
/// resumes with a `Range` request.
final class HTTPTransport: Sendable {
    let timeout: Double

    init(timeout: Double) {
        self.timeout = timeout
    }

    private func makeSession(delegate: URLSessionDelegate) -> URLSession {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        return URLSession(configuration: configuration, delegate: delegate, delegateQueue: queue)
    }

    /// Sends one request without following redirects and returns the whole reply.
    func send(_ request: URLRequest) async throws(TransportFailure) -> HTTPReply {
        do {
            return try await perform(request, delegate: ReplyDelegate(redirects: .refuse, streaming: nil))
        } catch let failure as TransportFailure {
            throw failure
        } catch {
            throw TransportFailure(reason: error.localizedDescription, cancelled: Task.isCancelled)
        }
    }

    /// Streams a GET into `sink`, following redirects (dropping `Authorization` when a
    /// redirect leaves `authorizedHost`). Bodies of non-2xx replies are collected instead.
    /// - Parameters:
    ///   - onResponse: told the status before any byte is written (a 200 to a ranged request
    ///     must restart the file).
    ///   - sink: receives each piece of a 2xx body; a thrown error stops the transfer.
    func stream(_ request: URLRequest, authorizedHost: String?, onResponse: @escaping @Sendable (Int) throws -> Void,
                sink: @escaping @Sendable (Data) throws -> Void) async throws -> HTTPReply {
        let streaming = ReplyDelegate.Streaming(onResponse: onResponse, sink: sink)
        return try await perform(request, delegate: ReplyDelegate(redirects: .follow(authorizedHost: authorizedHost), streaming: streaming))
    }

    /// Runs one data task on its own session; cancelling the calling task cancels it. Errors:
    /// `TransportFailure` below HTTP, or whatever a streaming sink threw (a `HubError`).
    private func perform(_ request: URLRequest, delegate: ReplyDelegate) async throws -> HTTPReply {
        let session = makeSession(delegate: delegate)
        defer { session.finishTasksAndInvalidate() }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPReply, Error>) in
                    delegate.start(session.dataTask(with: request), continuation: continuation)
                }
            } onCancel: {
                session.invalidateAndCancel()
            }
        } catch let failure as TransportFailure {
            throw failure
        } catch let error as HubError {
            throw error  // from the sink
        } catch {
            throw TransportFailure(reason: error.localizedDescription, cancelled: Task.isCancelled)
        }
    }
}

func lowerCasedHeaders(_ response: HTTPURLResponse) -> [String: String] {
    var headers: [String: String] = [:]
    for (key, value) in response.allHeaderFields {
        if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
    }
    return headers
}

func describe(_ error: Error) -> String {
    let nsError = error as NSError
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
        let text = underlying.userInfo[NSLocalizedDescriptionKey] as? String
    {
        return text
    }
    if let text = nsError.userInfo[NSLocalizedDescriptionKey] as? String { return text }
    if let urlError = error as? URLError {
        switch urlError.code {
        case .cannotConnectToHost: return "connection refused"
        case .timedOut: return "timed out"
        case .networkConnectionLost: return "connection lost"
        case .notConnectedToInternet: return "not connected to the internet"
        case .cannotFindHost: return "host not found"
        default: return "URL error \(urlError.code.rawValue)"
        }
    }
    return "\(error)"
}

/// Receives one reply. Plain requests refuse every redirect (the 3xx itself is returned) and
/// collect the body; streaming requests follow redirects and hand a 2xx body to the sink piece
/// by piece, keeping at most 64 KiB of any other body for the error message.
private final class ReplyDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    enum Redirects {
        case refuse
        /// Follow, dropping `Authorization` when the new host is not this one.
        case follow(authorizedHost: String?)
    }

    struct Streaming {
        let onResponse: @Sendable (Int) throws -> Void
        let sink: @Sendable (Data) throws -> Void
    }

    // Invariant behind @unchecked Sendable: the fields are touched only on the session's serial
    // delegate queue, after `start` has stored the continuation (under `lock`).
    private var continuation: CheckedContinuation<HTTPReply, Error>?
    private var response: HTTPURLResponse?
    private var body = Data()
    private var sinkError: Error?
    private let lock = NSLock()
    let redirects: Redirects
    let streaming: Streaming?

    init(redirects: Redirects, streaming: Streaming?) {
        self.redirects = redirects
        self.streaming = streaming
    }

    func start(_ task: URLSessionDataTask, continuation: CheckedContinuation<HTTPReply, Error>) {
        lock.withLock { self.continuation = continuation }
        task.resume()
    }

    private var isSuccess: Bool { response.map { (200..<300).contains($0.statusCode) } ?? false }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        switch redirects {
        case .refuse:
            completionHandler(nil)
        case .follow(let authorizedHost):
            var next = request
            if next.url?.host != authorizedHost { next.setValue(nil, forHTTPHeaderField: "Authorization") }
            completionHandler(next)
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        self.response = response as? HTTPURLResponse
        if let streaming, isSuccess, let status = self.response?.statusCode {
            do { try streaming.onResponse(status) } catch {
                sinkError = error
                completionHandler(.cancel)
                return
            }
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard sinkError == nil else { return }
        guard let streaming else {
            body.append(data)
            return
        }
        if isSuccess {
            do { try streaming.sink(data) } catch {
                sinkError = error
                dataTask.cancel()
            }
        } else if body.count < 65536 {
            body.append(data)
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        let continuation = lock.withLock { () -> CheckedContinuation<HTTPReply, Error>? in
            defer { self.continuation = nil }
            return self.continuation
        }
        if let sinkError {
            continuation?.resume(throwing: sinkError)
        } else if let error {
            let cancelled = (error as? URLError)?.code == .cancelled
            continuation?.resume(throwing: TransportFailure(reason: describe(error), cancelled: cancelled))
        } else if let response = response ?? (task.response as? HTTPURLResponse), let url = response.url ?? task.originalRequest?.url {
            continuation?.resume(returning: HTTPReply(status: response.statusCode, headers: lowerCasedHeaders(response), body: body, url: url))
        } else {
            continuation?.resume(throwing: TransportFailure(reason: "no HTTP response", cancelled: false))
        }
    }
}
