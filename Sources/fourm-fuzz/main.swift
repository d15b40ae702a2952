// fourm-fuzz: libFuzzer harnesses for FourM's parsers (issue 15). Build and run with
// `scripts/fuzz.sh TARGET SECONDS`; a plain `swift build` compiles a stub that says so.
//
// Targets: safetensors (header reader + config parser), tokenizer (tokenizer.json loader +
// encode/decode), sequence (caption/det/metadata/palette/pose/SAM parsers), image (PNG and
// JPEG decoders), json (the strict JSON reader alone).
//
// SwiftPM generates `main` for this executable, which hides libFuzzer's own `main`, so the
// fuzzer is started through `LLVMFuzzerRunDriver` with the remaining arguments.
import Foundation
import FourMImage
import FourMModels
import FourMTensor
import FourMTokenizers

/// Every harness must return normally or throw: a trap, a hang or a sanitizer report is a
/// finding.
enum Harness: String, CaseIterable {
    case safetensors, tokenizer, sequence, image, json

    func run(_ data: Data) {
        switch self {
        case .json:
            _ = try? JSONParser.parse(data)
        case .safetensors:
            // The reader maps a file: write the input to a per-process scratch file.
            let path = scratchPath
            guard FileManager.default.createFile(atPath: path, contents: data) else { return }
            guard let file = try? SafeTensorsFile(path: path) else { return }
            for name in file.names.prefix(64) {
                _ = try? file.floatTensor(name)
                _ = try? file.intTensor(name)
            }
            if let config = try? FourMConfiguration(metadata: file.metadata, file: path) {
                _ = try? config.adoptingTensorShapes(of: file)
                for m in config.domainsIn + config.domainsOut { _ = config.info(m) }
                _ = config.mlpHiddenWidth
            }
            _ = try? FourMConfiguration(jsonData: data, file: "config.json")
        case .tokenizer:
            guard let tokenizer = try? WordPieceTokenizer(json: data, file: "fuzz.json") else { return }
            let ids = tokenizer.encode("a dog [S_1] on a couch ##x é e\u{301} 中文")
            _ = try? tokenizer.decode(ids, skipSpecialTokens: false)
            let count = Int32(min(tokenizer.vocabularySize, 4096))
            _ = try? tokenizer.decode((0..<count).map { $0 }, skipSpecialTokens: true)
        case .sequence:
            let text = String(decoding: data, as: UTF8.self)
            let tokens = SequenceToken.tokens(inText: text)
            _ = CaptionCodec().decode(tokens)
            _ = DetectionCodec().decode(tokens)
            _ = MetadataCodec().decode(tokens)
            _ = ColorPaletteCodec().decode(tokens)
            _ = HumanPoseCodec().decode(tokens)
            _ = SAMInstanceCodec().decode(tokens)
        case .image:
            _ = try? Image(pngData: data)
            _ = try? Image(jpegData: data)
        }
    }
}

let scratchPath = FileManager.default.temporaryDirectory.appendingPathComponent("fourm-fuzz-\(getpid()).bin").path

/// The harness of a fuzzing run, from `FOURM_FUZZ_TARGET` (libFuzzer owns the arguments).
let fuzzTarget = ProcessInfo.processInfo.environment["FOURM_FUZZ_TARGET"].flatMap(Harness.init(rawValue:))

/// libFuzzer's entry point. Depending on the linker, libFuzzer's own `main` or this file's
/// top-level code starts the process; both end up here.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    fuzzTarget?.run(data)
    return 0
}

#if FUZZING
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32

    guard fuzzTarget != nil else {
        FileHandle.standardError.write(Data("fourm-fuzz: set FOURM_FUZZ_TARGET to one of \(Harness.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
        exit(2)
    }
    var argc = Int32(CommandLine.arguments.count)
    var cArguments: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) } + [nil]
    let status = cArguments.withUnsafeMutableBufferPointer { buffer -> Int32 in
        var argv = buffer.baseAddress
        return LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in fuzzOneInput(bytes, count) }
    }
    exit(status)
#else
    // Without the fuzzer runtime: `fourm-fuzz TARGET FILE...` runs each file once (a
    // regression check of a corpus or of a finding).
    let arguments = CommandLine.arguments
    guard arguments.count >= 2, let harness = Harness(rawValue: arguments[1]) else {
        FileHandle.standardError.write(Data("usage: fourm-fuzz \(Harness.allCases.map(\.rawValue).joined(separator: "|")) FILE... (fuzz with scripts/fuzz.sh)\n".utf8))
        exit(2)
    }
    var failures = 0
    for path in arguments.dropFirst(2) {
        guard let data = FileManager.default.contents(atPath: path) else {
            FileHandle.standardError.write(Data("fourm-fuzz: cannot read \(path)\n".utf8))
            failures += 1
            continue
        }
        harness.run(data)
    }
    exit(failures == 0 ? 0 : 1)
#endif
