// Command gotmpl-oracle renders Go text/template cases the way werf and Helm
// do, so davit's Rust engine can be compared with the real thing byte for byte.
//
// It reads a JSON array of cases on stdin and writes a JSON array of results
// ({"out": ..., "err": ...}) on stdout, in the same order. It is a test
// oracle only: nothing of it is shipped in davit.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/Masterminds/sprig/v3"
	yamlv2 "gopkg.in/yaml.v2"
	"sigs.k8s.io/yaml"
)

type namedText struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

type tcase struct {
	Name       string            `json:"name"`
	Mode       string            `json:"mode"` // "werf" (default) or "helm"
	Templates  []namedText       `json:"templates"`
	Entry      string            `json:"entry"`
	Data       json.RawMessage   `json:"data"`
	Files      map[string]string `json:"files"`
	Env        map[string]string `json:"env"`
	EnvStrict  bool              `json:"envStrict"`
	MissingKey string            `json:"missingkey"`
	Delims     []string          `json:"delims,omitempty"`
}

type result struct {
	Out string `json:"out"`
	Err string `json:"err,omitempty"`
}

// werfFiles mirrors werf's .Files: backed by the case's file map.
type werfFiles struct{ files map[string]string }

func (f werfFiles) Get(p string) string {
	p = path.Clean(p)
	if c, ok := f.files[p]; ok {
		return c
	}
	panic(fmt.Sprintf("{{ .Files.Get %q }}: the file %q not found in the project git repository", p, p))
}

func (f werfFiles) Glob(pattern string) map[string]interface{} {
	res := map[string]interface{}{}
	for p, c := range f.files {
		if globMatch(pattern, p) {
			res[p] = c
		}
	}
	return res
}

func (f werfFiles) Exists(p string) bool {
	p = path.Clean(p)
	if _, ok := f.files[p]; ok {
		return true
	}
	return f.IsDir(p)
}

func (f werfFiles) IsDir(p string) bool {
	p = strings.TrimSuffix(path.Clean(p), "/")
	if p == "." {
		return true
	}
	for k := range f.files {
		if strings.HasPrefix(k, p+"/") {
			return true
		}
	}
	return false
}

func (f werfFiles) sorted() []string {
	keys := make([]string, 0, len(f.files))
	for k := range f.files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Lines, AsConfig and AsSecrets follow Helm's engine.Files helpers.
func (f werfFiles) Lines(p string) []string {
	c, ok := f.files[p]
	if !ok || c == "" {
		return []string{}
	}
	s := strings.TrimRight(c, "\n")
	return strings.Split(s, "\n")
}

func (f werfFiles) AsConfig() string {
	m := map[string]string{}
	for _, k := range f.sorted() {
		m[path.Base(k)] = f.files[k]
	}
	b, _ := yaml.Marshal(m)
	return strings.TrimSuffix(string(b), "\n")
}

func (f werfFiles) AsSecrets() string {
	m := map[string]string{}
	for _, k := range f.sorted() {
		m[path.Base(k)] = base64.StdEncoding.EncodeToString([]byte(f.files[k]))
	}
	b, _ := yaml.Marshal(m)
	return strings.TrimSuffix(string(b), "\n")
}

// globMatch: doublestar-like matching, enough for the test cases ("*" inside a
// segment, "**" across segments, "?").
func globMatch(pattern, name string) bool {
	return matchSegs(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegs(ps, ns []string) bool {
	if len(ps) == 0 {
		return len(ns) == 0
	}
	if ps[0] == "**" {
		for i := 0; i <= len(ns); i++ {
			if matchSegs(ps[1:], ns[i:]) {
				return true
			}
		}
		return false
	}
	if len(ns) == 0 {
		return false
	}
	ok, err := path.Match(ps[0], ns[0])
	if err != nil || !ok {
		return false
	}
	return matchSegs(ps[1:], ns[1:])
}

func render(c tcase) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	helm := c.Mode == "helm"
	funcs := sprig.TxtFuncMap()
	delete(funcs, "expandenv")
	if epoch := os.Getenv("SOURCE_DATE_EPOCH"); epoch != "" {
		if secs, err := strconv.ParseInt(epoch, 10, 64); err == nil {
			funcs["now"] = func() time.Time { return time.Unix(secs, 0).UTC() }
		}
	}
	if helm {
		// Helm's engine drops both (pkg/engine/funcs.go).
		delete(funcs, "env")
	}
	root := template.New(c.Entry)
	tplCount := 0
	included := map[string]int{}
	// Helm's guard against runaway include recursion (engine.go includeFun).
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf strings.Builder
		if v, ok := included[name]; ok {
			if v > 1000 {
				return "", fmt.Errorf("rendering template has a nested reference name: %s: unable to execute template", name)
			}
			included[name]++
		} else {
			included[name] = 1
		}
		err := root.ExecuteTemplate(&buf, name, data)
		included[name]--
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		tplCount++
		if tplCount > 1000 {
			return "", errors.New("tpl recursion limit")
		}
		name := fmt.Sprintf("tpl-%d", adler32.Checksum([]byte(text)))
		t, err := root.New(name).Parse(text)
		if err != nil {
			return "", err
		}
		var buf strings.Builder
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		out := buf.String()
		if helm {
			out = strings.ReplaceAll(out, "<no value>", "")
		}
		return out, nil
	}
	funcs["required"] = func(msg string, val interface{}) (interface{}, error) {
		if val == nil {
			return val, errors.New(msg)
		}
		if s, ok := val.(string); ok && s == "" {
			return val, errors.New(msg)
		}
		return val, nil
	}
	funcs["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	if !helm {
		funcs["env"] = func(name string, def ...string) (string, error) {
			if len(def) > 1 {
				return "", errors.New("more than 1 optional argument prohibited")
			}
			v, ok := c.Env[name]
			if (!ok || v == "") && len(def) == 1 {
				return def[0], nil
			}
			if !ok && c.EnvStrict {
				return "", fmt.Errorf("the environment variable %q must be set or default must be provided", name)
			}
			return v, nil
		}
	}
	if helm {
		funcs["toYaml"] = func(v interface{}) string {
			b, err := yaml.Marshal(v)
			if err != nil {
				return ""
			}
			return strings.TrimSuffix(string(b), "\n")
		}
		funcs["fromYaml"] = func(s string) map[string]interface{} {
			m := map[string]interface{}{}
			if err := yaml.Unmarshal([]byte(s), &m); err != nil {
				m["Error"] = err.Error()
			}
			return m
		}
		funcs["fromYamlArray"] = func(s string) []interface{} {
			a := []interface{}{}
			if err := yaml.Unmarshal([]byte(s), &a); err != nil {
				a = []interface{}{err.Error()}
			}
			return a
		}
		funcs["fromJson"] = func(s string) map[string]interface{} {
			m := map[string]interface{}{}
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				m["Error"] = err.Error()
			}
			return m
		}
		funcs["fromJsonArray"] = func(s string) []interface{} {
			a := []interface{}{}
			if err := json.Unmarshal([]byte(s), &a); err != nil {
				a = []interface{}{err.Error()}
			}
			return a
		}
		funcs["toJson"] = func(v interface{}) string {
			b, err := json.Marshal(v)
			if err != nil {
				return ""
			}
			return string(b)
		}
		funcs["lookup"] = func(apiversion, kind, namespace, name string) (map[string]interface{}, error) {
			return map[string]interface{}{}, nil
		}
		funcs["mustToYaml"] = func(v interface{}) (string, error) {
			b, err := yaml.Marshal(v)
			if err != nil {
				return "", err
			}
			return strings.TrimSuffix(string(b), "\n"), nil
		}
		funcs["toToml"] = func(v interface{}) string {
			b := bytes.NewBuffer(nil)
			if err := toml.NewEncoder(b).Encode(v); err != nil {
				return err.Error()
			}
			return b.String()
		}
	} else {
		funcs["toYaml"] = func(v interface{}) string {
			b, err := yamlv2.Marshal(v)
			if err != nil {
				return ""
			}
			return strings.TrimSuffix(string(b), "\n")
		}
		funcs["fromYaml"] = func(s string) (map[string]interface{}, error) {
			m := map[string]interface{}{}
			if err := yamlv2.Unmarshal([]byte(s), &m); err != nil {
				return nil, err
			}
			return m, nil
		}
	}
	root.Funcs(funcs)
	if len(c.Delims) == 2 {
		root.Delims(c.Delims[0], c.Delims[1])
	}
	switch c.MissingKey {
	case "":
		if helm {
			root.Option("missingkey=zero")
		}
	default:
		root.Option("missingkey=" + c.MissingKey)
	}
	var entryText *string
	for i := range c.Templates {
		t := c.Templates[i]
		if t.Name == c.Entry {
			entryText = &c.Templates[i].Text
			continue
		}
		if _, err := root.New(t.Name).Parse(t.Text); err != nil {
			return "", err
		}
	}
	if entryText == nil {
		return "", fmt.Errorf("no entry template %q", c.Entry)
	}
	if _, err := root.Parse(*entryText); err != nil {
		return "", err
	}
	var data interface{}
	if len(c.Data) > 0 {
		if err := json.Unmarshal(c.Data, &data); err != nil {
			return "", err
		}
	}
	if m, ok := data.(map[string]interface{}); ok && c.Files != nil {
		m["Files"] = werfFiles{c.Files}
	}
	var buf bytes.Buffer
	if err := root.ExecuteTemplate(&buf, c.Entry, data); err != nil {
		return buf.String(), err
	}
	out = buf.String()
	if helm {
		out = strings.ReplaceAll(out, "<no value>", "")
	}
	return out, nil
}

// benchResult is one case's timing in -bench mode.
type benchResult struct {
	Name       string  `json:"name"`
	Iterations int     `json:"iterations"`
	MeanMicros float64 `json:"mean_us"`
	MinMicros  float64 `json:"min_us"`
	Err        string  `json:"err,omitempty"`
}

// bench renders every case repeatedly and reports the time per render.
func bench(cases []tcase, iterations int) {
	results := make([]benchResult, len(cases))
	for i, c := range cases {
		if c.Entry == "" {
			c.Entry = "main"
		}
		if _, err := render(c); err != nil {
			results[i].Err = err.Error()
		}
		var total, min time.Duration
		for n := 0; n < iterations; n++ {
			start := time.Now()
			_, _ = render(c)
			d := time.Since(start)
			total += d
			if n == 0 || d < min {
				min = d
			}
		}
		results[i].Name = c.Name
		results[i].Iterations = iterations
		results[i].MeanMicros = float64(total.Microseconds()) / float64(iterations)
		results[i].MinMicros = float64(min.Nanoseconds()) / 1000
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	_ = enc.Encode(results)
}

func main() {
	iterations := 0
	if len(os.Args) == 3 && os.Args[1] == "-bench" {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "usage: gotmpl-oracle [-bench N] < cases.json")
			os.Exit(2)
		}
		iterations = n
	}
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var cases []tcase
	if err := json.Unmarshal(input, &cases); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(2)
	}
	if iterations > 0 {
		bench(cases, iterations)
		return
	}
	results := make([]result, len(cases))
	for i, c := range cases {
		if c.Entry == "" {
			c.Entry = "main"
		}
		out, err := render(c)
		results[i] = result{Out: out}
		if err != nil {
			results[i].Err = err.Error()
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
