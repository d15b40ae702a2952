// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "FourM",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "FourM", targets: ["FourM"]),
        .library(name: "FourMHub", targets: ["FourMHub"]),
        .executable(name: "fourm", targets: ["fourm-cli"]),
        .executable(name: "fourm-bench", targets: ["fourm-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Few-row bf16/int8 products: AVX2+FMA through `target` attributes, chosen at run time.
        .target(name: "CFourMKernels"),
        .target(name: "FourMTensor", dependencies: ["CBLAS", "CDNNL", "CFourMKernels"]),
        .target(name: "FourMModels", dependencies: ["FourMTensor"]),
        .target(name: "FourMImage", dependencies: ["FourMTensor", "CPNG", "CTurboJPEG"]),
        .target(name: "FourMTokenizers", dependencies: ["FourMTensor", "FourMImage"]),
        .target(name: "FourMDiffusion", dependencies: ["FourMTensor", "FourMTokenizers"]),
        .target(name: "FourMSampling", dependencies: ["FourMModels"]),
        .target(name: "FourMRetrieval", dependencies: ["FourMModels", "FourMSampling", "FourMTokenizers"]),
        .target(name: "FourMSynth", dependencies: ["FourMTensor", "FourMImage", "FourMTokenizers"]),
        .target(
            name: "FourM",
            dependencies: [
                "FourMTensor", "FourMModels", "FourMTokenizers", "FourMDiffusion", "FourMSampling",
                "FourMRetrieval", "FourMImage", "CZlib",
            ],
            resources: [.copy("Resources/DemoModel")]),
        .target(name: "FourMEvaluation", dependencies: ["FourM", "FourMSynth", "FourMSampling", "FourMTensor"]),
        .target(
            name: "FourMHub", dependencies: ["FourM", "FourMModels", "FourMTensor"],
            resources: [.copy("Resources/TextTokenizer")]),
        .executableTarget(
            name: "fourm-cli",
            dependencies: [
                "FourM", "FourMHub", "FourMModels", "FourMTensor", "FourMTokenizers", "FourMSampling", "FourMDiffusion",
                "FourMSynth", "FourMImage", "FourMEvaluation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ]),
        .executableTarget(name: "RGBToAll", dependencies: ["FourM"], path: "Examples/RGBToAll"),
        .executableTarget(name: "CaptionToImage", dependencies: ["FourM"], path: "Examples/CaptionToImage"),
        .executableTarget(name: "CustomConditioning", dependencies: ["FourM"], path: "Examples/CustomConditioning"),
        .executableTarget(name: "Retrieval", dependencies: ["FourM"], path: "Examples/Retrieval"),
        // libFuzzer harnesses; a plain build gives a corpus-replay stub (see scripts/fuzz.sh).
        .executableTarget(name: "fourm-fuzz", dependencies: ["FourMTensor", "FourMModels", "FourMTokenizers", "FourMImage"]),
        .executableTarget(name: "FeatureProbe", dependencies: ["FourM"], path: "Examples/FeatureProbe"),
        .executableTarget(name: "fourm-bench", dependencies: ["FourM", "FourMModels", "FourMTensor", "FourMSampling", "FourMTokenizers", "FourMDiffusion", "FourMSynth", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .target(
            name: "FourMTestSupport", dependencies: ["FourMTensor", "FourMModels", "FourMTokenizers", "FourMSampling"],
            path: "Tests/FourMTestSupport"),
        .testTarget(name: "FourMTensorTests", dependencies: ["FourMTensor", "FourMTestSupport"]),
        .testTarget(
            name: "FourMTokenizersTests",
            dependencies: ["FourMTokenizers", "FourMTensor", "FourMTestSupport"]),
        .testTarget(
            name: "FourMImageTests",
            dependencies: ["FourMImage", "FourMTensor", "FourMTestSupport"],
            exclude: ["Resources"]),
        .testTarget(
            name: "FourMDiffusionTests",
            dependencies: ["FourMDiffusion", "FourMTokenizers", "FourMTensor", "FourMTestSupport"]),
        .testTarget(
            name: "FourMSamplingTests",
            dependencies: ["FourMSampling", "FourMModels", "FourMTensor", "FourMTokenizers", "FourMTestSupport"]),
        .testTarget(name: "FourMCLITests", dependencies: ["FourMTestSupport", "FourMTensor", "FourMTokenizers", "FourMModels", "FourMImage"]),
        .testTarget(name: "FourMTests", dependencies: ["FourM", "FourMTestSupport", "FourMModels", "FourMSampling", "FourMTensor", "FourMTokenizers"], exclude: ["DemoParity", "SMPLFixtures"]),
        .testTarget(name: "FourMRetrievalTests", dependencies: ["FourMRetrieval", "FourMTensor", "FourMModels", "FourMTokenizers", "FourMTestSupport"]),
        .testTarget(name: "FourMSynthTests", dependencies: ["FourMSynth", "FourMTensor", "FourMTokenizers", "FourMImage"]),
        .testTarget(name: "FourMEvaluationTests", dependencies: ["FourMEvaluation", "FourM", "FourMSynth"]),
        .testTarget(name: "FourMHubTests", dependencies: ["FourMHub", "FourMTensor", "FourMTestSupport"], exclude: ["Resources"]),
        .testTarget(
            name: "FourMModelsTests",
            dependencies: ["FourMModels", "FourMTensor", "FourMTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
