package lab

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/fatih/color"
)

func init() { color.NoColor = true }

func testProgram(ran *[]string) *Program {
	section := func(name string) Section {
		return Section{Name: name, Doc: "does " + name,
			Run: func(l *Lab) error {
				*ran = append(*ran, name)
				if name == "fails" {
					return errors.New("boom")
				}
				return nil
			}}
	}
	return &Program{Name: "00-test", Summary: "A test lab.",
		Sections: []Section{section("one"), section("two"), section("fails")}}
}

func run(t *testing.T, args ...string) (code int, stdout, stderr string, ran []string) {
	t.Helper()
	t.Setenv("TMPDIR", t.TempDir())
	var out, errs strings.Builder
	code = testProgram(&ran).Run(&out, &errs, args)
	left, _ := os.ReadDir(os.Getenv("TMPDIR"))
	if len(left) > 0 {
		t.Errorf("scratch directory left behind: %v", left)
	}
	return code, out.String(), errs.String(), ran
}

func TestOnlyRunsSectionsInLabOrder(t *testing.T) {
	code, _, _, ran := run(t, "-only", "two,one")
	if code != 0 || strings.Join(ran, ",") != "one,two" {
		t.Errorf("exit %d, ran %v; want 0 and one,two", code, ran)
	}
}

func TestUsageErrorsAreOneLineExit2(t *testing.T) {
	for _, args := range [][]string{
		{"-only", "nosuch"}, {"-nosuch"}, {"extra"}, {"-child", "nosuch"},
	} {
		code, stdout, stderr, ran := run(t, args...)
		if code != 2 || stdout != "" || len(ran) != 0 ||
			strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q, ran %v",
				args, code, stdout, stderr, ran)
		}
	}
}

func TestHelpGoesToStdout(t *testing.T) {
	code, stdout, stderr, _ := run(t, "-h")
	if code != 0 || stderr != "" || !strings.Contains(stdout, "A test lab.") ||
		!strings.Contains(stdout, "-only") || strings.Contains(stdout, "-child") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestFailingSectionExits1(t *testing.T) {
	code, _, stderr, ran := run(t)
	if code != 1 || len(ran) != 3 || !strings.Contains(stderr, "fails: boom") {
		t.Errorf("exit %d, ran %v, stderr %q", code, ran, stderr)
	}
}

func TestWrap(t *testing.T) {
	got := wrap("aaa bbb ccc ddd", 8)
	if strings.Join(got, "|") != "aaa bbb|ccc ddd" {
		t.Errorf("wrap = %q", got)
	}
	if got := wrap("a  b", 10); got[0] != "a  b" {
		t.Errorf("short text must keep its spacing: %q", got)
	}
}

func TestClaimMarksSurprises(t *testing.T) {
	var b strings.Builder
	l := &Lab{Out: &b}
	l.Claim(true, "held")
	l.Claim(false, "did not")
	want := "  ok   held\n  UNEXPECTED did not\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
