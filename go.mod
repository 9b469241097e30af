module github.com/mmaplab/mmaplab

go 1.26.0

require (
	github.com/fatih/color v1.19.0
	github.com/google/go-cmdtest v0.4.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/google/go-cmp v0.3.1 // indirect
	github.com/google/renameio v0.1.0 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
)
