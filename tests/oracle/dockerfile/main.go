// Command dockerfile-oracle computes the inputs of werf's `dockerfile` stage
// digest (../shared/spec/werf-build.md §4.6) with moby/buildkit v0.13.1's
// real Dockerfile parser and shell lexer, so davit's Rust implementation of
// both can be compared with them. File checksums are replaced by the
// placeholder FILES[src,...] on both sides.
//
// Input: JSON array of cases on stdin. Output: JSON array of results.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"golang.org/x/crypto/sha3"
)

type dcase struct {
	Name         string            `json:"name"`
	Dockerfile   string            `json:"dockerfile"`
	Args         map[string]string `json:"args"`
	Target       string            `json:"target"`
	CacheVersion string            `json:"cacheVersion"`
	AddHost      []string          `json:"addHost"`
}

type dresult struct {
	Deps      []string `json:"deps"`
	StageDeps string   `json:"stageDeps"`
	Digest    string   `json:"digest"`
	Err       string   `json:"err,omitempty"`
}

func h256(args ...string) string {
	s := sha256.Sum256([]byte(strings.Join(args, ":::")))
	return hex.EncodeToString(s[:])
}

func h3(args ...string) string {
	s := sha3.Sum224([]byte(strings.Join(args, ":::")))
	return hex.EncodeToString(s[:])
}

// orderedEnv keeps insertion order; lookups see the first entry of a key.
type orderedEnv struct {
	keys []string
	vals map[string]string
}

func newEnv() *orderedEnv { return &orderedEnv{vals: map[string]string{}} }

func (e *orderedEnv) set(k, v string) {
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

func (e *orderedEnv) list() []string {
	out := make([]string, 0, len(e.keys))
	for _, k := range e.keys {
		out = append(out, k+"="+e.vals[k])
	}
	return out
}

func files(srcs []string) string {
	norm := make([]string, 0, len(srcs))
	for _, s := range srcs {
		c := path.Clean(s)
		if c == "/" {
			c = "."
		}
		norm = append(norm, strings.TrimPrefix(c, "/"))
	}
	return "FILES[" + strings.Join(norm, ",") + "]"
}

func compute(c dcase) (res dresult) {
	defer func() {
		if r := recover(); r != nil {
			res = dresult{Err: fmt.Sprintf("panic: %v", r)}
		}
	}()
	ast, err := parser.Parse(strings.NewReader(c.Dockerfile))
	if err != nil {
		return dresult{Err: err.Error()}
	}
	stages, metaArgs, err := instructions.Parse(ast.AST)
	if err != nil {
		return dresult{Err: err.Error()}
	}
	if len(stages) == 0 {
		return dresult{Err: "no stages"}
	}
	lex := shell.NewLex('\\')
	resolved := newEnv()
	for _, ma := range metaArgs {
		for _, kv := range ma.Args {
			key, err := lex.ProcessWord(kv.Key, resolved.list())
			if err != nil {
				return dresult{Err: err.Error()}
			}
			val := ""
			if v, ok := c.Args[key]; ok {
				val = v
			} else if kv.Value != nil {
				val, err = lex.ProcessWord(*kv.Value, resolved.list())
				if err != nil {
					return dresult{Err: err.Error()}
				}
			}
			resolved.set(key, val)
		}
	}
	meta := map[string]string{
		"TARGETPLATFORM": "linux/amd64", "TARGETOS": "linux", "TARGETARCH": "amd64", "TARGETVARIANT": "",
		"BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux", "BUILDARCH": "amd64", "BUILDVARIANT": "",
	}
	for k, v := range resolved.vals {
		meta[k] = v
	}
	deps := make([][]string, len(stages))
	for i, st := range stages {
		d := append([]string{}, c.AddHost...)
		base, err := lex.ProcessWordWithMap(st.BaseName, meta)
		if err != nil {
			return dresult{Err: err.Error()}
		}
		if base == "" {
			return dresult{Err: "invalid base image"}
		}
		d = append(d, base)
		args, env := newEnv(), newEnv()
		pw := func(s string) (string, error) {
			// The spec (werf-build.md §4.6) says the stage ARG wins over an
			// ENV of the same name; buildkit's lookup keeps the last entry,
			// so ARGs go last.
			return lex.ProcessWord(s, append(env.list(), args.list()...))
		}
		for _, cmd := range st.Commands {
			switch x := cmd.(type) {
			case *instructions.ArgCommand:
				for _, kv := range x.Args {
					k, err := pw(kv.Key)
					if err != nil {
						return dresult{Err: err.Error()}
					}
					var v string
					if a, ok := c.Args[k]; ok {
						v = a
					} else if kv.Value == nil || *kv.Value == "" {
						v = meta[k]
					} else if v, err = pw(*kv.Value); err != nil {
						return dresult{Err: err.Error()}
					}
					args.set(k, v)
					d = append(d, "ARG "+k+"="+v)
				}
			case *instructions.EnvCommand:
				for _, kv := range x.Env {
					k, err1 := pw(kv.Key)
					v, err2 := pw(kv.Value)
					if err1 != nil || err2 != nil {
						return dresult{Err: fmt.Sprint(err1, err2)}
					}
					env.set(k, v)
					d = append(d, "ENV "+k+"="+v)
				}
			case *instructions.AddCommand:
				srcs := make([]string, 0, len(x.SourcePaths))
				for _, s := range x.SourcePaths {
					p, err := pw(s)
					if err != nil {
						return dresult{Err: err.Error()}
					}
					srcs = append(srcs, p)
				}
				d = append(d, x.String(), files(srcs))
			case *instructions.CopyCommand:
				d = append(d, x.String())
				if x.From == "" {
					srcs := make([]string, 0, len(x.SourcePaths))
					for _, s := range x.SourcePaths {
						p, err := pw(s)
						if err != nil {
							return dresult{Err: err.Error()}
						}
						srcs = append(srcs, p)
					}
					d = append(d, files(srcs))
				}
			case *instructions.OnbuildCommand:
				return dresult{Err: "ONBUILD not covered by the oracle"}
			default:
				s, err := pw(fmt.Sprint(cmd))
				if err != nil {
					return dresult{Err: err.Error()}
				}
				d = append(d, s)
			}
		}
		deps[i] = d
	}
	// Second pass: a stage built FROM another stage, or copying --from one,
	// includes that stage's dependencies.
	index := map[string]int{}
	for i, st := range stages {
		if st.Name != "" {
			index[strings.ToLower(st.Name)] = i
		}
	}
	for i, st := range stages {
		for j := range stages {
			if j != i && stages[j].Name != "" && strings.EqualFold(st.BaseName, stages[j].Name) {
				deps[i] = append(deps[i], deps[j]...)
			}
		}
		for _, cmd := range st.Commands {
			if cp, ok := cmd.(*instructions.CopyCommand); ok && cp.From != "" {
				if n, ok := index[strings.ToLower(cp.From)]; ok && n != i {
					deps[i] = append(deps[i], deps[n]...)
				} else {
					var num int
					if _, err := fmt.Sscanf(cp.From, "%d", &num); err == nil && num >= 0 && num < len(stages) && fmt.Sprint(num) == cp.From {
						deps[i] = append(deps[i], deps[num]...)
					}
				}
			}
		}
	}
	target := len(stages) - 1
	if c.Target != "" {
		n, ok := index[strings.ToLower(c.Target)]
		if !ok {
			return dresult{Err: c.Target + " is not a valid target build stage"}
		}
		target = n
	}
	all := append([]string{}, deps[target]...)
	if c.CacheVersion != "" {
		all = append(all, c.CacheVersion)
	}
	sd := h256(all...)
	return dresult{Deps: deps[target], StageDeps: sd, Digest: h3("1.2", "dockerfile", sd)}
}

// ignoreCase is one .dockerignore text and the paths to test against it.
type ignoreCase struct {
	Name         string   `json:"name"`
	Dockerignore string   `json:"dockerignore"`
	Paths        []string `json:"paths"`
}

type ignoreResult struct {
	Patterns []string `json:"patterns"`
	Excluded []string `json:"excluded"`
	Err      string   `json:"err,omitempty"`
}

// dockerignore answers, with moby/patternmatcher v0.6.0 (what the Docker
// CLI and BuildKit use), which paths a .dockerignore excludes.
func dockerignore(in []byte) {
	var cases []ignoreCase
	if err := json.Unmarshal(in, &cases); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(2)
	}
	out := make([]ignoreResult, len(cases))
	for i, c := range cases {
		pats, err := ignorefile.ReadAll(strings.NewReader(c.Dockerignore))
		if err != nil {
			out[i] = ignoreResult{Patterns: []string{}, Excluded: []string{}, Err: err.Error()}
			continue
		}
		pm, err := patternmatcher.New(pats)
		if err != nil {
			out[i] = ignoreResult{Patterns: pats, Excluded: []string{}, Err: err.Error()}
			continue
		}
		res := ignoreResult{Patterns: pats, Excluded: []string{}}
		for _, p := range c.Paths {
			m, err := pm.MatchesOrParentMatches(p)
			if err != nil {
				res.Err = err.Error()
				break
			}
			if m {
				res.Excluded = append(res.Excluded, p)
			}
		}
		if res.Patterns == nil {
			res.Patterns = []string{}
		}
		out[i] = res
	}
	emit(out)
}

func emit(v any) {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if len(os.Args) > 1 && os.Args[1] == "dockerignore" {
		dockerignore(in)
		return
	}
	var cases []dcase
	if err := json.Unmarshal(in, &cases); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(2)
	}
	out := make([]dresult, len(cases))
	for i, c := range cases {
		out[i] = compute(c)
	}
	_ = sort.Strings
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
