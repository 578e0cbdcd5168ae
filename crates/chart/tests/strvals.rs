//! Helm's documented `--set` behaviour ("The Format and Limitations of
//! --set" in Helm's docs), each row checked against `helm template` when
//! it was written: input, then the values as JSON, or Helm's error.

use davit_chart::strvals::{parse_into, SetKind};
use davit_chart::values::empty;

fn parse(kind: SetKind, text: &str) -> Result<String, String> {
    let base = empty();
    parse_into(text, &base, kind, &mut |p| Ok(format!("read:{p}"))).map_err(|e| e.to_string())?;
    Ok(davit_gotmpl::funcs::json::encode(&base, true, None).unwrap())
}

#[test]
fn documented_set_forms() {
    let rows: &[(&str, &str)] = &[
        ("name=value", r#"{"name":"value"}"#),
        ("a=b,c=d", r#"{"a":"b","c":"d"}"#),
        ("outer.inner=value", r#"{"outer":{"inner":"value"}}"#),
        ("name={a, b, c}", r#"{"name":["a"," b"," c"]}"#),
        ("servers[0].port=80", r#"{"servers":[{"port":80}]}"#),
        (
            "servers[0].port=80,servers[0].host=example",
            r#"{"servers":[{"host":"example","port":80}]}"#,
        ),
        (r"name=value1\,value2", r#"{"name":"value1,value2"}"#),
        (
            r"nodeSelector.kubernetes\.io/role=master",
            r#"{"nodeSelector":{"kubernetes.io/role":"master"}}"#,
        ),
        ("a[1][0]=x", r#"{"a":[null,["x"]]}"#),
        ("x=1,x=2", r#"{"x":2}"#),
        ("a.b=1,a=2", r#"{"a":2}"#),
        ("empty={}", r#"{"empty":[""]}"#),
        (
            "b=,n=null,t=TRUE,f=false",
            r#"{"b":"","f":false,"n":null,"t":true}"#,
        ),
        (
            "i=0,j=007,k=-5,l=+7,m=1.50,o=1e3",
            r#"{"i":0,"j":"007","k":-5,"l":7,"m":"1.50","o":"1e3"}"#,
        ),
    ];
    for (input, want) in rows {
        assert_eq!(
            parse(SetKind::Typed, input).as_deref(),
            Ok(*want),
            "--set {input}"
        );
    }
}

#[test]
fn documented_set_errors() {
    let rows: &[(&str, &str)] = &[
        ("a", r#"key "a" has no value"#),
        ("a,b=c", r#"key "a" has no value (cannot end with ,)"#),
        ("a[-1]=x", "negative -1 index not allowed"),
        ("a[70000]=x", "index of 70000 is greater than maximum supported index of 65536"),
        ("a[x]=1", r#"error parsing index: strconv.Atoi: parsing "x": invalid syntax"#),
        ("a={b", "list must terminate with '}'"),
        (
            "a=2,a.b=1",
            "unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}",
        ),
    ];
    for (input, want) in rows {
        assert_eq!(
            parse(SetKind::Typed, input).err().as_deref(),
            Some(*want),
            "--set {input}"
        );
    }
}

#[test]
fn other_flags() {
    assert_eq!(
        parse(SetKind::String, "s=true,n=10").as_deref(),
        Ok(r#"{"n":"10","s":"true"}"#)
    );
    assert_eq!(
        parse(SetKind::Json, r#"a={"b":1},c=[1,"x"]"#).as_deref(),
        Ok(r#"{"a":{"b":1},"c":[1,"x"]}"#)
    );
    assert!(parse(SetKind::Json, "a=[1").is_err());
    assert_eq!(
        parse(SetKind::Literal, "l.m=a,b=c").as_deref(),
        Ok(r#"{"l":{"m":"a,b=c"}}"#)
    );
    assert_eq!(
        parse(SetKind::File, "f=conf.txt").as_deref(),
        Ok(r#"{"f":"read:conf.txt"}"#)
    );
}
