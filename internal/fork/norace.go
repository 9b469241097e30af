//go:build !race

package fork

const raceEnabled = false
