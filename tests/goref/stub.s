// Empty assembly file. Its presence makes `go build` compile this package without -complete,
// which is what allows the bodyless `func nanotime() int64` declaration (go:linkname to
// runtime.nanotime) in util.go.
