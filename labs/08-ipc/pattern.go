package main

import (
	"encoding/binary"
	"hash/crc32"
)

// The data: both processes make the same pseudo-random bytes, so that
// the receiver can check what arrived without trusting the sender. Pass
// number k sends the window that starts at offsetOf(k): consecutive
// passes send different bytes, and a method that delivered an old pass
// again would fail the check.

// slack is how far the windows of the passes shift: the pattern is this
// much longer than the largest pass.
const slack = 1 << 20

// offsetOf returns where pass k's window starts: a multiple of 64 bytes,
// so that every method copies from equally aligned memory.
func offsetOf(k int) int { return (k * 4160) % slack }

// pattern returns n bytes (a multiple of 8) of the lab's data: each
// 8-byte word is splitmix64 of its index, fast to make and never
// periodic.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], splitmix64(uint64(i/8)))
	}
	return b
}

// splitmix64 is a 64-bit mixing function (Steele, Lea and Flood, 2014).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// castagnoli is CRC-32C, which amd64 (SSE 4.2) and arm64 compute in
// hardware: checking 64 MiB takes a few milliseconds.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum returns the CRC-32C of b.
func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// touch writes to every page of b, so that no page fault happens later
// while b is timed.
func touch(b []byte, pageSize int) {
	for i := 0; i < len(b); i += pageSize {
		b[i] = 0
	}
}
