// Command kube-schema walks, by reflection, every Go type registered in client-go's scheme plus the
// apiextensions.k8s.io and apiregistration.k8s.io groups, and prints the protobuf and JSON facts Lifeboat's
// TypeScript decoder needs (field numbers, wire types, JSON names, omitempty/omitzero/inline, pointer-ness).
//
//	go run -modfile=releases/v0.34.mod . dump            > out/v0.34.json   (one release)
//	go run . merge out/v0.24.json ... out/v0.34.json     > schema.json      (union, per-field release tags)
//
// The tools/kube-schema/generate script runs both steps for every release listed in releases/.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextv1beta1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	aggv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggv1beta1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1beta1"
)

// TypeExpr describes a Go type as the decoder sees it.
type TypeExpr struct {
	// T is one of: string, bool, int32, int64, uint32, uint64, float32, float64, bytes, ref, ptr, slice, map.
	T    string    `json:"t"`
	Ref  string    `json:"ref,omitempty"`
	Elem *TypeExpr `json:"elem,omitempty"`
	Key  *TypeExpr `json:"key,omitempty"`
	// Wrapped marks a named slice type (e.g. ExtraValue) that protobuf carries as a message whose field 1
	// holds the items.
	Wrapped bool `json:"wrapped,omitempty"`
}

// Field is one Go struct field.
type Field struct {
	Go        string    `json:"go"`
	JSON      string    `json:"json,omitempty"` // empty when json:"-"
	Num       int       `json:"num,omitempty"`  // protobuf field number, 0 when not carried in protobuf
	Wire      string    `json:"wire,omitempty"` // protobuf tag wire kind: varint, bytes, fixed32, fixed64, zigzag32, zigzag64
	Repeated  bool      `json:"rep,omitempty"`
	OmitEmpty bool      `json:"omitempty,omitempty"`
	OmitZero  bool      `json:"omitzero,omitempty"`
	Inline    bool      `json:"inline,omitempty"`
	Type      *TypeExpr `json:"type"`
	Releases  []string  `json:"releases,omitempty"` // filled by merge
}

// Type is one named Go struct type, or a hand-marshalled special type.
type Type struct {
	// Special names a type whose wire and JSON forms are hand-written in apimachinery or apiextensions.
	Special  string   `json:"special,omitempty"`
	Fields   []*Field `json:"fields,omitempty"`
	Releases []string `json:"releases,omitempty"`
}

// Kind is one registered group/version/kind.
type Kind struct {
	Group    string   `json:"group"`
	Version  string   `json:"version"`
	Kind     string   `json:"kind"`
	Type     string   `json:"type"`
	Releases []string `json:"releases,omitempty"`
}

// Dump is one release's schema.
type Dump struct {
	Release string            `json:"release"`
	Modules map[string]string `json:"modules"`
	Kinds   []*Kind           `json:"kinds"`
	Types   map[string]*Type  `json:"types"`
}

const meta = "k8s.io/apimachinery/pkg/apis/meta/v1."

// specials are the apimachinery/apiextensions types whose protobuf and JSON forms are hand-written.
var specials = map[string]string{
	meta + "Time":      "Time",
	meta + "MicroTime": "MicroTime",
	meta + "Duration":  "Duration",
	meta + "FieldsV1":  "FieldsV1",
	"k8s.io/apimachinery/pkg/api/resource.Quantity":                      "Quantity",
	"k8s.io/apimachinery/pkg/util/intstr.IntOrString":                    "IntOrString",
	"k8s.io/apimachinery/pkg/runtime.RawExtension":                       "RawExtension",
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1.JSON":      "RawJSON",
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1.JSON": "RawJSON",
}

// customJSON are struct types decoded field by field from protobuf whose JSON form is hand-written.
var customJSON = map[string]bool{
	"JSONSchemaPropsOrBool":        true,
	"JSONSchemaPropsOrArray":       true,
	"JSONSchemaPropsOrStringArray": true,
}

type walker struct {
	types map[string]*Type
}

func typeName(t reflect.Type) string { return t.PkgPath() + "." + t.Name() }

func (w *walker) expr(t reflect.Type) *TypeExpr {
	if t.Name() != "" && t.PkgPath() != "" {
		if sp, ok := specials[typeName(t)]; ok {
			w.types[typeName(t)] = &Type{Special: sp}
			return &TypeExpr{T: "ref", Ref: typeName(t)}
		}
	}
	switch t.Kind() {
	case reflect.String:
		return &TypeExpr{T: "string"}
	case reflect.Bool:
		return &TypeExpr{T: "bool"}
	case reflect.Int32:
		return &TypeExpr{T: "int32"}
	case reflect.Int64, reflect.Int:
		return &TypeExpr{T: "int64"}
	case reflect.Uint32:
		return &TypeExpr{T: "uint32"}
	case reflect.Uint64, reflect.Uint:
		return &TypeExpr{T: "uint64"}
	case reflect.Uint8:
		return &TypeExpr{T: "uint32"}
	case reflect.Int16, reflect.Int8, reflect.Uint16:
		return &TypeExpr{T: "int32"}
	case reflect.Float32:
		return &TypeExpr{T: "float32"}
	case reflect.Float64:
		return &TypeExpr{T: "float64"}
	case reflect.Ptr:
		return &TypeExpr{T: "ptr", Elem: w.expr(t.Elem())}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return &TypeExpr{T: "bytes"}
		}
		return &TypeExpr{T: "slice", Elem: w.expr(t.Elem()), Wrapped: t.Name() != ""}
	case reflect.Map:
		return &TypeExpr{T: "map", Key: w.expr(t.Key()), Elem: w.expr(t.Elem())}
	case reflect.Struct:
		w.walk(t)
		return &TypeExpr{T: "ref", Ref: typeName(t)}
	case reflect.Interface:
		return &TypeExpr{T: "any"}
	}
	panic(fmt.Sprintf("unsupported Go kind %s in %s", t.Kind(), t))
}

func (w *walker) walk(t reflect.Type) {
	name := typeName(t)
	if _, done := w.types[name]; done {
		return
	}
	ty := &Type{}
	if customJSON[t.Name()] && strings.HasPrefix(t.PkgPath(), "k8s.io/apiextensions-apiserver/") {
		ty.Special = t.Name()
	}
	w.types[name] = ty
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if sf.PkgPath != "" && !sf.Anonymous { // unexported
			continue
		}
		f := &Field{Go: sf.Name}
		jsonTag, hasJSON := sf.Tag.Lookup("json")
		parts := strings.Split(jsonTag, ",")
		switch {
		case jsonTag == "-":
			f.JSON = ""
		case parts[0] != "":
			f.JSON = parts[0]
		case sf.Anonymous && sf.Type.Kind() == reflect.Struct:
			f.Inline = true
		case sf.Anonymous:
			f.JSON = sf.Type.Name()
		default:
			f.JSON = sf.Name
		}
		_ = hasJSON
		for _, opt := range parts[1:] {
			switch opt {
			case "omitempty":
				f.OmitEmpty = true
			case "omitzero":
				f.OmitZero = true
			case "inline":
				f.Inline = true
			}
		}
		if f.Inline {
			f.JSON = ""
		}
		if pb, ok := sf.Tag.Lookup("protobuf"); ok {
			p := strings.Split(pb, ",")
			if len(p) >= 3 {
				f.Wire = p[0]
				n, err := strconv.Atoi(p[1])
				if err != nil {
					panic(fmt.Sprintf("%s.%s: bad protobuf tag %q", name, sf.Name, pb))
				}
				f.Num = n
				f.Repeated = p[2] == "rep"
			}
		}
		if f.JSON == "" && !f.Inline && f.Num == 0 {
			continue // neither in JSON nor in protobuf
		}
		f.Type = w.expr(sf.Type)
		ty.Fields = append(ty.Fields, f)
	}
}

func dump() *Dump {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		scheme.AddToScheme, apiextv1.AddToScheme, apiextv1beta1.AddToScheme, aggv1.AddToScheme, aggv1beta1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	w := &walker{types: map[string]*Type{}}
	d := &Dump{Modules: map[string]string{}, Types: w.types}
	for gvk, t := range s.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal || t.Kind() != reflect.Struct {
			continue
		}
		w.walk(t)
		d.Kinds = append(d.Kinds, &Kind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Type: typeName(t)})
	}
	sort.Slice(d.Kinds, func(i, j int) bool {
		a, b := d.Kinds[i], d.Kinds[j]
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Kind < b.Kind
	})
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			switch m.Path {
			case "k8s.io/api", "k8s.io/apimachinery", "k8s.io/apiextensions-apiserver", "k8s.io/kube-aggregator", "k8s.io/client-go":
				d.Modules[m.Path] = m.Version
			}
		}
	}
	d.Release = d.Modules["k8s.io/api"]
	return d
}

func fieldKey(f *Field) string {
	if f.Num != 0 {
		return "#" + strconv.Itoa(f.Num)
	}
	if f.Inline {
		return "inline:" + f.Go
	}
	return "json:" + f.JSON
}

// minor turns v0.34.4 into v0.34.
func minor(release string) string {
	p := strings.Split(release, ".")
	return p[0] + "." + p[1]
}

func addRelease(list []string, r string) []string {
	for _, x := range list {
		if x == r {
			return list
		}
	}
	return append(list, r)
}

// merge unions the dumps, newest release first: a field's position follows the newest release that has it,
// and fields only older releases have are inserted after their predecessor in that release.
func merge(dumps []*Dump) string {
	sort.Slice(dumps, func(i, j int) bool { return semverLess(dumps[j].Release, dumps[i].Release) })
	types := map[string]*Type{}
	kinds := map[string]*Kind{}
	var conflicts []string
	var releases []string
	for _, d := range dumps {
		r := minor(d.Release)
		releases = append(releases, d.Release)
		for _, k := range d.Kinds {
			id := k.Group + "/" + k.Version + "/" + k.Kind
			if kinds[id] == nil {
				kk := *k
				kinds[id] = &kk
			}
			kinds[id].Releases = addRelease(kinds[id].Releases, r)
		}
		names := make([]string, 0, len(d.Types))
		for n := range d.Types {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			t := d.Types[n]
			m := types[n]
			if m == nil {
				m = &Type{Special: t.Special}
				types[n] = m
			}
			m.Releases = addRelease(m.Releases, r)
			prev := -1
			for _, f := range t.Fields {
				idx := -1
				for i, g := range m.Fields {
					if fieldKey(g) == fieldKey(f) {
						idx = i
						break
					}
				}
				if idx < 0 {
					nf := *f
					idx = prev + 1
					m.Fields = append(m.Fields[:idx], append([]*Field{&nf}, m.Fields[idx:]...)...)
				} else {
					a, _ := json.Marshal(m.Fields[idx].Type)
					b, _ := json.Marshal(f.Type)
					if string(a) != string(b) || m.Fields[idx].JSON != f.JSON || m.Fields[idx].Wire != f.Wire {
						conflicts = append(conflicts, fmt.Sprintf("%s %s: %s has %s %s, newer has %s %s", n, fieldKey(f), r, f.JSON, b, m.Fields[idx].JSON, a))
					}
				}
				m.Fields[idx].Releases = addRelease(m.Fields[idx].Releases, r)
				prev = idx
			}
		}
	}
	kindList := make([]*Kind, 0, len(kinds))
	for _, k := range kinds {
		kindList = append(kindList, k)
	}
	sort.Slice(kindList, func(i, j int) bool {
		a, b := kindList[i], kindList[j]
		return a.Group+"/"+a.Version+"/"+a.Kind < b.Group+"/"+b.Version+"/"+b.Kind
	})
	sort.Strings(conflicts)
	sort.Slice(releases, func(i, j int) bool { return semverLess(releases[i], releases[j]) })
	var minors []string
	for _, r := range releases {
		minors = append(minors, minor(r))
	}
	return render(releases, minors, dumps[0].Modules, conflicts, kindList, types)
}

// exprString writes a type expression in the Go-like notation src/kube/schema.ts parses.
func exprString(e *TypeExpr) string {
	switch e.T {
	case "ptr":
		return "*" + exprString(e.Elem)
	case "slice":
		if e.Wrapped {
			return "~[]" + exprString(e.Elem)
		}
		return "[]" + exprString(e.Elem)
	case "map":
		return "map[" + exprString(e.Key) + "]" + exprString(e.Elem)
	case "ref":
		return e.Ref
	}
	return e.T
}

// relString compresses a set of minors into ranges over the ordered list all, e.g. "v0.24-v0.29,v0.31".
func relString(have []string, all []string) string {
	set := map[string]bool{}
	for _, h := range have {
		set[h] = true
	}
	var parts []string
	for i := 0; i < len(all); i++ {
		if !set[all[i]] {
			continue
		}
		j := i
		for j+1 < len(all) && set[all[j+1]] {
			j++
		}
		if i == j {
			parts = append(parts, all[i])
		} else {
			parts = append(parts, all[i]+"-"+all[j])
		}
		i = j
	}
	return strings.Join(parts, ",")
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, x := range a {
		m[x] = true
	}
	for _, x := range b {
		if !m[x] {
			return false
		}
	}
	return true
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// render writes the TypeScript module: one JSON document in a String.raw template, one type per line.
func render(releases, minors []string, modules map[string]string, conflicts []string, kinds []*Kind, types map[string]*Type) string {
	type outField struct {
		JSON      string `json:"json,omitempty"`
		Num       int    `json:"num,omitempty"`
		Wire      string `json:"wire,omitempty"`
		Repeated  bool   `json:"rep,omitempty"`
		OmitEmpty bool   `json:"omitempty,omitempty"`
		OmitZero  bool   `json:"omitzero,omitempty"`
		Inline    bool   `json:"inline,omitempty"`
		Type      string `json:"type"`
		Rel       string `json:"rel,omitempty"`
	}
	type outType struct {
		Special string      `json:"special,omitempty"`
		Fields  []*outField `json:"fields,omitempty"`
		Rel     string      `json:"rel,omitempty"`
	}
	type outKind struct {
		Group   string `json:"group"`
		Version string `json:"version"`
		Kind    string `json:"kind"`
		Type    string `json:"type"`
		Rel     string `json:"rel,omitempty"`
	}
	var b strings.Builder
	mods := []string{}
	for m, v := range modules {
		mods = append(mods, m+" "+v)
	}
	sort.Strings(mods)
	b.WriteString("// Code generated by tools/kube-schema/generate (Go reflection over Kubernetes' registered types). DO NOT EDIT.\n")
	b.WriteString("// Releases: " + strings.Join(releases, ", ") + ".\n")
	b.WriteString("// Newest release's modules: " + strings.Join(mods, ", ") + ".\n")
	b.WriteString("// Regenerate: tools/kube-schema/generate\n")
	b.WriteString("// prettier-ignore\nexport const SCHEMA_SOURCE = String.raw`{\n")
	b.WriteString(`"generator": ` + mustJSON("tools/kube-schema") + ",\n")
	b.WriteString(`"releases": ` + mustJSON(releases) + ",\n")
	if conflicts == nil {
		conflicts = []string{}
	}
	b.WriteString(`"conflicts": ` + mustJSON(conflicts) + ",\n")
	b.WriteString("\"kinds\": [\n")
	for i, k := range kinds {
		ok := outKind{Group: k.Group, Version: k.Version, Kind: k.Kind, Type: k.Type}
		if !sameSet(k.Releases, minors) {
			ok.Rel = relString(k.Releases, minors)
		}
		sep := ","
		if i == len(kinds)-1 {
			sep = ""
		}
		b.WriteString(mustJSON(ok) + sep + "\n")
	}
	b.WriteString("],\n\"types\": {\n")
	names := make([]string, 0, len(types))
	for n := range types {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		t := types[n]
		ot := outType{Special: t.Special}
		if !sameSet(t.Releases, minors) {
			ot.Rel = relString(t.Releases, minors)
		}
		for _, f := range t.Fields {
			of := &outField{JSON: f.JSON, Num: f.Num, Wire: f.Wire, Repeated: f.Repeated, OmitEmpty: f.OmitEmpty,
				OmitZero: f.OmitZero, Inline: f.Inline, Type: exprString(f.Type)}
			if !sameSet(f.Releases, t.Releases) {
				of.Rel = relString(f.Releases, minors)
			}
			ot.Fields = append(ot.Fields, of)
		}
		sep := ","
		if i == len(names)-1 {
			sep = ""
		}
		b.WriteString(mustJSON(n) + ": " + mustJSON(ot) + sep + "\n")
	}
	b.WriteString("}\n}`;\n")
	out := b.String()
	body := out[strings.Index(out, "String.raw`")+len("String.raw`") : len(out)-3]
	if strings.Contains(body, "`") || strings.Contains(body, "${") {
		panic("schema text contains a backtick or ${, which a String.raw template cannot hold")
	}
	return out
}

func semverLess(a, b string) bool {
	pa, pb := strings.Split(strings.TrimPrefix(a, "v"), "."), strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kube-schema dump | merge FILE...")
		os.Exit(2)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	var out any
	switch os.Args[1] {
	case "dump":
		out = dump()
	case "merge":
		if len(os.Args) < 3 {
			fmt.Fprintln(os.Stderr, "usage: kube-schema merge FILE...")
			os.Exit(2)
		}
		var dumps []*Dump
		for _, p := range os.Args[2:] {
			b, err := os.ReadFile(p)
			if err != nil {
				panic(err)
			}
			d := &Dump{}
			if err := json.Unmarshal(b, d); err != nil {
				panic(fmt.Sprintf("%s: %v", p, err))
			}
			dumps = append(dumps, d)
		}
		fmt.Print(merge(dumps))
		return
	default:
		fmt.Fprintln(os.Stderr, "usage: kube-schema dump | merge FILE...")
		os.Exit(2)
	}
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}
