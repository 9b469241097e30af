#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image
# (Ubuntu). It installs Go and warms the module cache so that grading
# does not download anything.
set -eu
GO_VERSION=1.25.5
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl
curl -fsSL "https://go.dev/dl/go${GO_VERSION}.linux-amd64.tar.gz" |
	tar -C /usr/local -xz
export PATH="$PATH:/usr/local/go/bin"
cd /autograder/source
go mod download
go build -o /dev/null ./checker
