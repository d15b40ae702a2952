import Foundation

/// The reason inside a Foundation file or JSON error, as one short line for an error message.
///
/// On Linux, `localizedDescription` of a file error is often a generic text such as "The
/// operation could not be completed. (NSCocoaErrorDomain error 256.)" (reading a folder) or
/// "The data is not in the correct format."; the useful part is the POSIX error underneath
/// ("Is a directory", "No such file or directory", "Permission denied") or the parser's debug
/// description. This returns that part, and never more than one line.
package func fileErrorReason(_ error: any Error) -> String {
    let ns = error as NSError
    var reason: String
    // On Linux the underlying error is often a Swift `POSIXError`, which `as? NSError` on the
    // `Any` in `userInfo` does not bridge; going through `any Error` does.
    let underlying = (ns.userInfo[NSUnderlyingErrorKey] as? any Error).map { $0 as NSError }
    if let underlying, underlying.domain == NSPOSIXErrorDomain {
        reason = String(cString: strerror(Int32(truncatingIfNeeded: underlying.code)))
    } else if ns.domain == NSPOSIXErrorDomain {
        reason = String(cString: strerror(Int32(truncatingIfNeeded: ns.code)))
    } else if ns.domain == NSCocoaErrorDomain, ns.code == NSFileReadNoSuchFileError || ns.code == NSFileNoSuchFileError {
        reason = "No such file or directory"
    } else if let debug = ns.userInfo[NSDebugDescriptionErrorKey] as? String, !debug.isEmpty {
        reason = debug
    } else {
        reason = ns.localizedDescription
        let generic = "The operation could not be completed."
        if reason.hasPrefix(generic) { reason = String(reason.dropFirst(generic.count)).trimmingCharacters(in: .whitespaces) }
        if reason.isEmpty { reason = "\(ns.domain) error \(ns.code)" }
    }
    return reason.split(whereSeparator: \.isNewline).joined(separator: " ")
}
