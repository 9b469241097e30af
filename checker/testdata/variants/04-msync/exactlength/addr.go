package main

import "unsafe"

func sliceAddr(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }
