// Pins the sources of Beam's Python worker boot program (package main in sdks/python/container
// of github.com/apache/beam/sdks/v2), built by `make image` into the pipeline image's entrypoint.
//
// The locked Beam is 2.72.0, but the Go module proxy refuses v2.72.0 of this module (403 "This
// module version is not available"; v2.71.0 and v2.73.0 are there). 2.71.0 is used: its boot
// hands the pipeline options to the SDK in PIPELINE_OPTIONS, which the 2.72 SDK's
// sdk_worker_main reads; 2.73.0's writes them to a file named by PIPELINE_OPTIONS_FILE, which
// the 2.72 SDK does not read. Move to the locked version as soon as the proxy serves it.
// tests/e2e/test_image_beam_worker.py runs this boot with the image's SDK.
module taxi-edge/beam-boot

go 1.25.0

require github.com/apache/beam/sdks/v2 v2.71.0

require (
	github.com/golang-cz/devslog v0.0.15 // indirect
	golang.org/x/net v0.48.0 // indirect
	golang.org/x/sys v0.39.0 // indirect
	golang.org/x/text v0.32.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20251124214823-79d6a2a48846 // indirect
	google.golang.org/grpc v1.78.0 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)
