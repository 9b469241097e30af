package fork

import "runtime"

// cloneChecked reports whether Fork's clone call is right here. clone's
// arguments after the flags (new stack, parent and child tid pointers,
// TLS) come in a different order on amd64 and arm64, which does not
// matter when they are all 0; on s390x the flags come second.
const cloneChecked = runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64"
