package report

import (
	"encoding/xml"
	"fmt"
	"io"
)

// JUnit XML as CI systems read it (Jenkins, GitLab, GitHub actions that
// publish test reports): one <testsuite> per lab, one <testcase> per check.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
	Err      *junitText  `xml:"system-err,omitempty"`
}

type junitCase struct {
	Name      string      `xml:"name,attr"`
	ClassName string      `xml:"classname,attr"`
	Failure   *junitFault `xml:"failure,omitempty"`
	Error     *junitFault `xml:"error,omitempty"`
	Skipped   *junitText  `xml:"skipped,omitempty"`
	Out       *junitText  `xml:"system-out,omitempty"`
}

type junitFault struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitText struct {
	Message string `xml:"message,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes r as JUnit XML.
func WriteJUnit(w io.Writer, r *Result) error {
	out := junitSuites{Name: "mmaplab"}
	for _, l := range r.Labs {
		s := junitSuite{Name: l.Name}
		if l.Status == BuildError {
			s.Errors = 1
			s.Err = &junitText{Text: l.Build}
		}
		for _, c := range l.Checks {
			s.Cases = append(s.Cases, junitCheck(l, c))
			s.Tests++
			switch {
			case c.Status == Skipped:
				s.Skipped++
			case l.Status == BuildError:
			case c.Status != Pass:
				s.Failures++
			}
		}
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitCheck(l *Lab, c *Check) junitCase {
	jc := junitCase{Name: c.Name, ClassName: "mmaplab." + l.Name}
	msg := fmt.Sprintf("%s (%d of %d points)", c.Doc, c.Points, c.Max)
	switch {
	case c.Status == Skipped:
		jc.Skipped = &junitText{Message: checkText(c)}
	case l.Status == BuildError:
		jc.Error = &junitFault{Message: "does not build", Type: "build",
			Text: l.Build}
	case c.Status != Pass:
		jc.Failure = &junitFault{Message: msg, Type: string(c.Status),
			Text: checkText(c)}
	default:
		jc.Out = &junitText{Text: msg}
	}
	return jc
}
