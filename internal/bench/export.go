package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// WriteJSON writes rows (a slice of structs) as an indented JSON array,
// for plotting.
func WriteJSON(w io.Writer, rows any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rows); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// WriteCSV writes rows (a slice of structs) as CSV: one header line of
// the fields' json names, then one line per row. Nested structs (such as
// a Summary) become columns named "outer_inner". Fields tagged json:"-"
// are left out.
func WriteCSV(w io.Writer, rows any) error {
	v := reflect.ValueOf(rows)
	if v.Kind() != reflect.Slice || v.Type().Elem().Kind() != reflect.Struct {
		return fmt.Errorf("write csv: want a slice of structs, got %T", rows)
	}
	cw := csv.NewWriter(w)
	cw.Write(columns(v.Type().Elem(), ""))
	for i := range v.Len() {
		cw.Write(cells(v.Index(i), nil))
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// fieldName returns the json name of an exported field, and false for a
// field that is not exported or is tagged "-".
func fieldName(f reflect.StructField) (string, bool) {
	if !f.IsExported() {
		return "", false
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	switch name {
	case "-":
		return "", false
	case "":
		return f.Name, true
	}
	return name, true
}

func columns(t reflect.Type, prefix string) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, ok := fieldName(f)
		if !ok {
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			names = append(names, columns(f.Type, prefix+name+"_")...)
			continue
		}
		names = append(names, prefix+name)
	}
	return names
}

func cells(v reflect.Value, out []string) []string {
	for i := range v.NumField() {
		if _, ok := fieldName(v.Type().Field(i)); !ok {
			continue
		}
		f := v.Field(i)
		if f.Kind() == reflect.Struct {
			out = cells(f, out)
			continue
		}
		out = append(out, cell(f))
	}
	return out
}

func cell(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', 6, 64)
	case reflect.String:
		return v.String()
	}
	return fmt.Sprint(v.Interface())
}
