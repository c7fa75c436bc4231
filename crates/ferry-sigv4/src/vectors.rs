//! Published AWS test data and the tests that pin this crate to it.
//!
//! - The AWS SigV4 test suite (`aws-sig-v4-test-suite`, 2015-08-30 edition):
//!   access key `AKIDEXAMPLE`, region `us-east-1`, service `service`.
//! - The S3 examples of "Authenticating Requests: Using the Authorization
//!   Header", "Using Query Parameters" (presigned URL) and "Transferring
//!   Payload in Multiple Chunks" (aws-chunked), access key
//!   `AKIAIOSFODNN7EXAMPLE`, region `us-east-1`, service `s3`.
//!
//! Every expected signature below is AWS's published value, not computed here.

use chrono::{DateTime, TimeDelta, Utc};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

use crate::canonical::{
    CanonicalInput, canonical_headers, canonical_request, hmac_sha256, parse_amz_date, signing_key,
    string_to_sign,
};
use crate::{
    AuthKind, ChunkedDecoder, Credentials, EMPTY_SHA256, PayloadHash, SigV4Error, parse, presign,
    sha256_hex, sign_headers, verify,
};

pub(crate) const SUITE_ACCESS_KEY: &str = "AKIDEXAMPLE";
pub(crate) const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
pub(crate) const SUITE_DATE: &str = "20150830T123600Z";
const SUITE_HOST: &str = "example.amazonaws.com";
const SUITE_CREDENTIAL: &str =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ";
const STS_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

/// One request of the AWS SigV4 test suite, in wire form.
pub(crate) struct SuiteVector {
    pub name: &'static str,
    pub method: &'static str,
    /// Request target as sent (path already percent-encoded).
    pub target: &'static str,
    /// Headers besides `Host` and `X-Amz-Date` (repeats are separate entries).
    pub headers: &'static [(&'static str, &'static str)],
    pub body: &'static str,
    pub signed_headers: &'static str,
    pub signature: &'static str,
    /// Whether `sign_headers` must reproduce it (false when the request has a
    /// header the vector leaves unsigned, like `post-sts-header-after`).
    pub resign: bool,
}

const fn v(
    name: &'static str,
    method: &'static str,
    target: &'static str,
    headers: &'static [(&'static str, &'static str)],
    signed_headers: &'static str,
    signature: &'static str,
) -> SuiteVector {
    SuiteVector {
        name,
        method,
        target,
        headers,
        body: "",
        signed_headers,
        signature,
        resign: true,
    }
}

const VANILLA: &str = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
const HD: &str = "host;x-amz-date";

pub(crate) const SUITE: &[SuiteVector] = &[
    v("get-vanilla", "GET", "/", &[], HD, VANILLA),
    v("get-vanilla-query", "GET", "/", &[], HD, VANILLA),
    v(
        "get-vanilla-query-order-key-case",
        "GET",
        "/?Param2=value2&Param1=value1",
        &[],
        HD,
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    ),
    v(
        "get-vanilla-query-order-key",
        "GET",
        "/?Param1=value2&Param1=Value1",
        &[],
        HD,
        "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1",
    ),
    v(
        "get-vanilla-query-order-value",
        "GET",
        "/?Param1=value2&Param1=value1",
        &[],
        HD,
        "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694",
    ),
    v(
        "get-vanilla-query-unreserved",
        "GET",
        "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        &[],
        HD,
        "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
    ),
    v(
        "get-vanilla-utf8-query",
        "GET",
        "/?%E1%88%B4=bar",
        &[],
        HD,
        "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
    ),
    v(
        "get-unreserved",
        "GET",
        "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        &[],
        HD,
        "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
    ),
    v(
        "get-header-key-duplicate",
        "GET",
        "/",
        &[
            ("My-Header1", "value2"),
            ("My-Header1", "value2"),
            ("My-Header1", "value1"),
        ],
        "host;my-header1;x-amz-date",
        "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
    ),
    v(
        "get-header-value-order",
        "GET",
        "/",
        &[
            ("My-Header1", "value4"),
            ("My-Header1", "value1"),
            ("My-Header1", "value3"),
            ("My-Header1", "value2"),
        ],
        "host;my-header1;x-amz-date",
        "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
    ),
    v(
        "get-header-value-trim",
        "GET",
        "/",
        &[("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")],
        "host;my-header1;my-header2;x-amz-date",
        "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
    ),
    v(
        "post-vanilla",
        "POST",
        "/",
        &[],
        HD,
        "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    ),
    v(
        "post-vanilla-query",
        "POST",
        "/?Param1=value1",
        &[],
        HD,
        "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
    ),
    v(
        "post-header-key-sort",
        "POST",
        "/",
        &[("My-Header1", "value1")],
        "host;my-header1;x-amz-date",
        "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
    ),
    v(
        "post-header-value-case",
        "POST",
        "/",
        &[("My-Header1", "VALUE1")],
        "host;my-header1;x-amz-date",
        "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
    ),
    SuiteVector {
        name: "post-x-www-form-urlencoded",
        method: "POST",
        target: "/",
        headers: &[("Content-Type", "application/x-www-form-urlencoded")],
        body: "Param1=value1",
        signed_headers: "content-type;host;x-amz-date",
        signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        resign: true,
    },
    v(
        "post-sts-header-before",
        "POST",
        "/",
        &[("X-Amz-Security-Token", STS_TOKEN)],
        "host;x-amz-date;x-amz-security-token",
        "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
    ),
    SuiteVector {
        name: "post-sts-header-after",
        method: "POST",
        target: "/",
        headers: &[("X-Amz-Security-Token", STS_TOKEN)],
        body: "",
        signed_headers: HD,
        signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        resign: false,
    },
    // normalize-path: non-S3 services remove dot segments and empty segments.
    v("get-relative", "GET", "/example/..", &[], HD, VANILLA),
    v(
        "get-relative-relative",
        "GET",
        "/example1/example2/../..",
        &[],
        HD,
        VANILLA,
    ),
    v("get-slash", "GET", "//", &[], HD, VANILLA),
    v("get-slash-dot-slash", "GET", "/./", &[], HD, VANILLA),
    v(
        "get-slash-pointless-dot",
        "GET",
        "/./example",
        &[],
        HD,
        "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5",
    ),
    v(
        "get-slashes",
        "GET",
        "//example//",
        &[],
        HD,
        "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
    ),
];

/// Suite vectors whose raw request line holds characters `http::Uri` rejects
/// (a raw space, raw UTF-8): checked on the canonicalization directly.
/// `(name, raw path, canonical URI, signature)`.
const RAW_PATH_SUITE: &[(&str, &str, &str, &str)] = &[
    (
        "get-utf8",
        "/ሴ",
        "/%E1%88%B4",
        "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
    ),
    (
        "get-space",
        "/example space/",
        "/example%20space/",
        "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
    ),
];

pub(crate) const S3_ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
pub(crate) const S3_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
pub(crate) const S3_DATE: &str = "20130524T000000Z";
const S3_HOST: &str = "examplebucket.s3.amazonaws.com";
const S3_CREDENTIAL: &str =
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,";

/// An S3 documentation example: `(name, method, target, headers, body, authorization)`.
type S3Example = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static str,
);

const S3_EXAMPLES: &[S3Example] = &[
    (
        "GET Object",
        "GET",
        "/test.txt",
        &[
            ("Range", "bytes=0-9"),
            ("x-amz-content-sha256", EMPTY_SHA256),
        ],
        "",
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,\
         Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    ),
    (
        "PUT Object",
        "PUT",
        "/test%24file.text",
        &[
            ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            (
                "x-amz-content-sha256",
                "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
            ),
        ],
        "Welcome to Amazon S3.",
        "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,\
         Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
    ),
    (
        "GET Bucket Lifecycle",
        "GET",
        "/?lifecycle",
        &[("x-amz-content-sha256", EMPTY_SHA256)],
        "",
        "SignedHeaders=host;x-amz-content-sha256;x-amz-date,\
         Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
    ),
    (
        "Get Bucket (List Objects)",
        "GET",
        "/?max-keys=2&prefix=J",
        &[("x-amz-content-sha256", EMPTY_SHA256)],
        "",
        "SignedHeaders=host;x-amz-content-sha256;x-amz-date,\
         Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
    ),
];

pub(crate) const S3_PRESIGNED: &str = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
    &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
    &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

/// The chunked upload example: seed signature and the three chunk signatures.
pub(crate) const STREAMING_SEED: &str =
    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
pub(crate) const STREAMING_CHUNK_SIGNATURES: [&str; 3] = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
];
const STREAMING_HEADERS: &[(&str, &str)] = &[
    ("host", "s3.amazonaws.com"),
    ("x-amz-date", S3_DATE),
    ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
    ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
    ("content-encoding", "aws-chunked"),
    ("x-amz-decoded-content-length", "66560"),
    ("content-length", "66824"),
];
const STREAMING_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 \
    Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
    SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;\
    x-amz-decoded-content-length;x-amz-storage-class,\
    Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

pub(crate) fn at(amz_date: &str) -> DateTime<Utc> {
    parse_amz_date(amz_date).expect("test date")
}

pub(crate) fn header_map(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    headers
}

fn signature_of(authorization: &str) -> &str {
    authorization
        .rsplit_once("Signature=")
        .map(|(_, sig)| sig)
        .expect("signature")
}

/// The AWS example body: 64 KiB of `a`, 1 KiB of `a`, final chunk, with the
/// published chunk signatures.
pub(crate) fn streaming_example_body() -> Vec<u8> {
    let mut body = Vec::new();
    for (len, sig) in [(65536usize, 0usize), (1024, 1), (0, 2)] {
        body.extend_from_slice(
            format!(
                "{len:x};chunk-signature={}\r\n",
                STREAMING_CHUNK_SIGNATURES[sig]
            )
            .as_bytes(),
        );
        body.extend(std::iter::repeat_n(b'a', len));
        body.extend_from_slice(b"\r\n");
    }
    body
}

fn suite_request(vector: &SuiteVector) -> (Method, Uri, HeaderMap) {
    let method: Method = vector.method.parse().expect("method");
    let uri: Uri = vector.target.parse().expect("uri");
    let mut headers = header_map(&[("Host", SUITE_HOST), ("X-Amz-Date", SUITE_DATE)]);
    for (name, value) in vector.headers {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(value).expect("value"),
        );
    }
    (method, uri, headers)
}

#[test]
fn suite_vectors_verify() {
    let now = at(SUITE_DATE);
    for vector in SUITE {
        let (method, uri, mut headers) = suite_request(vector);
        let authorization = format!(
            "{SUITE_CREDENTIAL}SignedHeaders={}, Signature={}",
            vector.signed_headers, vector.signature
        );
        headers.insert(
            "authorization",
            HeaderValue::from_str(&authorization).expect("ascii"),
        );
        let req = parse(&method, &uri, &headers)
            .unwrap_or_else(|e| panic!("{}: {e}", vector.name))
            .unwrap_or_else(|| panic!("{}: anonymous", vector.name));
        assert_eq!(req.kind, AuthKind::Header);
        assert_eq!(req.payload, PayloadHash::Absent, "{}", vector.name);
        let body_hash = sha256_hex(vector.body.as_bytes());
        let verified = verify(
            &req,
            &method,
            &uri,
            &headers,
            SUITE_SECRET,
            now,
            Some(&body_hash),
        );
        assert!(verified.is_ok(), "{}: {verified:?}", vector.name);
        // The wrong secret or the wrong body never verifies.
        let wrong = verify(
            &req,
            &method,
            &uri,
            &headers,
            "wrong",
            now,
            Some(&body_hash),
        );
        assert_eq!(
            wrong.expect_err(vector.name).code(),
            "SignatureDoesNotMatch"
        );
        let other_body = sha256_hex(b"other");
        let wrong = verify(
            &req,
            &method,
            &uri,
            &headers,
            SUITE_SECRET,
            now,
            Some(&other_body),
        );
        assert_eq!(
            wrong.expect_err(vector.name).code(),
            "SignatureDoesNotMatch"
        );
    }
}

#[test]
fn suite_vectors_sign() {
    let now = at(SUITE_DATE);
    for vector in SUITE.iter().filter(|v| v.resign) {
        let (method, uri, mut headers) = suite_request(vector);
        let mut creds = Credentials::new(SUITE_ACCESS_KEY, SUITE_SECRET);
        if let Some(token) = headers.remove("x-amz-security-token") {
            creds = creds.with_session_token(token.to_str().expect("ascii"));
        }
        let body_hash = sha256_hex(vector.body.as_bytes());
        sign_headers(
            &method,
            &uri,
            &mut headers,
            &body_hash,
            &creds,
            "us-east-1",
            "service",
            now,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", vector.name));
        let expected = format!(
            "{SUITE_CREDENTIAL}SignedHeaders={}, Signature={}",
            vector.signed_headers, vector.signature
        );
        assert_eq!(
            headers["authorization"],
            expected.as_str(),
            "{}",
            vector.name
        );
        assert_eq!(headers["x-amz-date"], SUITE_DATE);
        // Non-S3 services get no x-amz-content-sha256 unless asked for.
        assert!(
            !headers.contains_key("x-amz-content-sha256"),
            "{}",
            vector.name
        );
    }
}

#[test]
fn suite_canonical_requests() {
    // Two of the suite's published .creq files, byte for byte.
    let cases = [
        (
            "get-vanilla-query-order-key",
            "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\n\
             x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (
            "get-header-value-trim",
            "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n\
             x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (
            "post-x-www-form-urlencoded",
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n\
             host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
             content-type;host;x-amz-date\n\
             9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
        ),
    ];
    for (name, want) in cases {
        let vector = SUITE.iter().find(|v| v.name == name).expect("vector");
        let (method, uri, headers) = suite_request(vector);
        let signed: Vec<String> = vector.signed_headers.split(';').map(String::from).collect();
        let block = canonical_headers(&headers, &uri, &signed).expect("headers");
        let creq = canonical_request(&CanonicalInput {
            method: method.as_str(),
            path: uri.path(),
            query: uri.query().unwrap_or(""),
            s3: false,
            presigned: false,
            headers_block: &block,
            signed_headers: vector.signed_headers,
            payload_hash: &sha256_hex(vector.body.as_bytes()),
        });
        assert_eq!(String::from_utf8(creq).expect("utf8"), want, "{name}");
    }
}

#[test]
fn suite_raw_path_vectors() {
    let key = signing_key(SUITE_SECRET, "20150830", "us-east-1", "service");
    let headers = header_map(&[("host", SUITE_HOST), ("x-amz-date", SUITE_DATE)]);
    let signed = ["host".to_string(), "x-amz-date".to_string()];
    let block = canonical_headers(&headers, &Uri::from_static("/"), &signed).expect("headers");
    for (name, path, canonical_uri, signature) in RAW_PATH_SUITE {
        assert_eq!(
            crate::canonical::canonical_uri(path, false),
            *canonical_uri,
            "{name}"
        );
        let creq = canonical_request(&CanonicalInput {
            method: "GET",
            path,
            query: "",
            s3: false,
            presigned: false,
            headers_block: &block,
            signed_headers: HD,
            payload_hash: EMPTY_SHA256,
        });
        let sts = string_to_sign(SUITE_DATE, "20150830/us-east-1/service/aws4_request", &creq);
        assert_eq!(
            hex::encode(hmac_sha256(&key, sts.as_bytes())),
            *signature,
            "{name}"
        );
    }
}

fn s3_request(example: &S3Example) -> (Method, Uri, HeaderMap) {
    let (_, method, target, extra, _, _) = example;
    let mut headers = header_map(&[("Host", S3_HOST), ("x-amz-date", S3_DATE)]);
    for (name, value) in *extra {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(value).expect("value"),
        );
    }
    (
        method.parse().expect("method"),
        target.parse().expect("uri"),
        headers,
    )
}

#[test]
fn s3_header_examples_verify() {
    let now = at(S3_DATE) + TimeDelta::minutes(5);
    for example in S3_EXAMPLES {
        let (name, _, _, _, body, auth) = example;
        let (method, uri, mut headers) = s3_request(example);
        headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("{S3_CREDENTIAL}{auth}")).expect("ascii"),
        );
        let req = parse(&method, &uri, &headers).expect(name).expect(name);
        assert!(matches!(req.payload, PayloadHash::Sha256(_)), "{name}");
        let body_hash = sha256_hex(body.as_bytes());
        let verified = verify(
            &req,
            &method,
            &uri,
            &headers,
            S3_SECRET,
            now,
            Some(&body_hash),
        );
        assert!(verified.is_ok(), "{name}: {verified:?}");
        // S3 streams bodies: verifying without the body hash must work too.
        assert!(verify(&req, &method, &uri, &headers, S3_SECRET, now, None).is_ok());
        // A body that does not match the signed hash is reported as such.
        let err = verify(
            &req,
            &method,
            &uri,
            &headers,
            S3_SECRET,
            now,
            Some(&sha256_hex(b"x")),
        )
        .expect_err(name);
        assert_eq!(err.code(), "XAmzContentSHA256Mismatch", "{name}");
    }
}

#[test]
fn s3_header_examples_sign() {
    let creds = Credentials::new(S3_ACCESS_KEY, S3_SECRET);
    for example in S3_EXAMPLES {
        let (name, _, _, _, body, auth) = example;
        let (method, uri, mut headers) = s3_request(example);
        headers.remove("x-amz-content-sha256");
        let body_hash = sha256_hex(body.as_bytes());
        sign_headers(
            &method,
            &uri,
            &mut headers,
            &body_hash,
            &creds,
            "us-east-1",
            "s3",
            at(S3_DATE),
        )
        .expect(name);
        let got = headers["authorization"].to_str().expect("ascii");
        assert_eq!(signature_of(got), signature_of(auth), "{name}");
        assert!(
            got.contains(auth.split(',').next().expect("signed headers")),
            "{name}: {got}"
        );
        assert_eq!(
            headers["x-amz-content-sha256"],
            body_hash.as_str(),
            "{name}"
        );
    }
}

#[test]
fn s3_presigned_example() {
    let uri: Uri = S3_PRESIGNED.parse().expect("uri");
    let headers = header_map(&[("host", S3_HOST)]);
    let req = parse(&Method::GET, &uri, &headers)
        .expect("ok")
        .expect("some");
    assert_eq!(req.kind, AuthKind::Presigned);
    let start = at(S3_DATE);
    for now in [
        start,
        start + TimeDelta::hours(12),
        start + TimeDelta::seconds(86400),
    ] {
        let verified = verify(&req, &Method::GET, &uri, &headers, S3_SECRET, now, None);
        assert!(verified.is_ok(), "{now}: {verified:?}");
    }
    let expired = verify(
        &req,
        &Method::GET,
        &uri,
        &headers,
        S3_SECRET,
        start + TimeDelta::seconds(86401),
        None,
    );
    assert_eq!(
        expired.expect_err("expired"),
        SigV4Error::Expired("Request has expired".into())
    );
    let early = verify(
        &req,
        &Method::GET,
        &uri,
        &headers,
        S3_SECRET,
        start - TimeDelta::minutes(16),
        None,
    );
    assert_eq!(early.expect_err("early").code(), "AccessDenied");
    assert!(
        verify(
            &req,
            &Method::GET,
            &uri,
            &headers,
            S3_SECRET,
            start - TimeDelta::minutes(14),
            None
        )
        .is_ok()
    );
    // Another method or host does not verify.
    let err = verify(&req, &Method::PUT, &uri, &headers, S3_SECRET, start, None).expect_err("put");
    assert_eq!(err.code(), "SignatureDoesNotMatch");
    let other_host = header_map(&[("host", "otherbucket.s3.amazonaws.com")]);
    let err = verify(
        &req,
        &Method::GET,
        &uri,
        &other_host,
        S3_SECRET,
        start,
        None,
    )
    .expect_err("host");
    assert_eq!(err.code(), "SignatureDoesNotMatch");

    // presign reproduces the documented URL exactly.
    let creds = Credentials::new(S3_ACCESS_KEY, S3_SECRET);
    let made = presign(
        &Method::GET,
        &Uri::from_static("https://examplebucket.s3.amazonaws.com/test.txt"),
        &HeaderMap::new(),
        &creds,
        "us-east-1",
        "s3",
        start,
        86400,
    )
    .expect("presign");
    assert_eq!(made, S3_PRESIGNED);
}

#[test]
fn s3_streaming_example() {
    let method = Method::PUT;
    let uri = Uri::from_static("/examplebucket/chunkObject.txt");
    let mut headers = header_map(STREAMING_HEADERS);
    headers.insert(
        "authorization",
        HeaderValue::from_static(STREAMING_AUTHORIZATION),
    );
    let req = parse(&method, &uri, &headers).expect("ok").expect("some");
    assert_eq!(
        req.payload,
        PayloadHash::Streaming {
            signed: true,
            trailer: false
        }
    );
    let verified =
        verify(&req, &method, &uri, &headers, S3_SECRET, at(S3_DATE), None).expect("seed verifies");
    assert_eq!(verified.seed_signature(), STREAMING_SEED);
    assert_eq!(verified.scope(), "20130524/us-east-1/s3/aws4_request");

    let body = streaming_example_body();
    assert_eq!(body.len(), 66824, "matches the example's Content-Length");
    let expected = vec![b'a'; 66560];
    for step in [body.len(), 1, 2, 3, 7, 64, 1000, 4096, 65536 + 90] {
        let mut decoder = verified.chunk_decoder(false);
        let mut out = Vec::new();
        for piece in body.chunks(step) {
            decoder
                .feed(piece, &mut out)
                .unwrap_or_else(|e| panic!("step {step}: {e}"));
        }
        assert!(decoder.is_done());
        assert_eq!(decoder.decoded_len(), 66560);
        let trailers = decoder.finish().expect("finish");
        assert!(trailers.is_empty());
        assert_eq!(out, expected, "step {step}");
    }

    // The signer and encoder rebuild the example byte for byte.
    let creds = Credentials::new(S3_ACCESS_KEY, S3_SECRET);
    let mut signed = header_map(&STREAMING_HEADERS[..1]);
    for (name, value) in &STREAMING_HEADERS[2..] {
        if *name != "x-amz-content-sha256" {
            signed.insert(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_static(value),
            );
        }
    }
    sign_headers(
        &method,
        &uri,
        &mut signed,
        crate::STREAMING_SIGNED_PAYLOAD,
        &creds,
        "us-east-1",
        "s3",
        at(S3_DATE),
    )
    .expect("sign");
    let auth = signed["authorization"].to_str().expect("ascii");
    assert_eq!(signature_of(auth), STREAMING_SEED);
    let req = parse(&method, &uri, &signed).expect("ok").expect("some");
    let own = verify(&req, &method, &uri, &signed, S3_SECRET, at(S3_DATE), None).expect("own");
    let mut encoder = own.chunk_encoder(false);
    let mut encoded = Vec::new();
    encoder.chunk(&expected[..65536], &mut encoded);
    encoder.chunk(&expected[65536..], &mut encoded);
    encoder.finish(&[], &mut encoded).expect("finish");
    assert_eq!(encoded, body);
}

#[test]
fn s3_streaming_example_rejects_tampering() {
    let method = Method::PUT;
    let uri = Uri::from_static("/examplebucket/chunkObject.txt");
    let mut headers = header_map(STREAMING_HEADERS);
    headers.insert(
        "authorization",
        HeaderValue::from_static(STREAMING_AUTHORIZATION),
    );
    let req = parse(&method, &uri, &headers).expect("ok").expect("some");
    let verified =
        verify(&req, &method, &uri, &headers, S3_SECRET, at(S3_DATE), None).expect("seed");
    let body = streaming_example_body();

    // One changed data byte in either chunk (data spans 88..65624 and
    // 65712..66736) breaks that chunk's signature.
    for position in [88, 30_000, 65_623, 65_712, 66_735] {
        let mut bad = body.clone();
        bad[position] = b'b';
        let mut decoder = verified.chunk_decoder(false);
        let err = decoder.feed(&bad, &mut Vec::new()).expect_err("tampered");
        assert_eq!(err.code(), "SignatureDoesNotMatch", "{position}");
        // The decoder stays failed.
        assert!(decoder.feed(b"", &mut Vec::new()).is_ok());
        assert!(decoder.feed(b"0", &mut Vec::new()).is_err());
        assert!(decoder.finish().is_err());
    }
    // Reordering chunks breaks the chain even though each chunk is authentic.
    let (first, rest) = body.split_at(88 + 65536 + 2);
    let (second, last) = rest.split_at(86 + 1024 + 2);
    assert_eq!(last.len(), 86);
    let swapped = [second, first, last].concat();
    let mut decoder = verified.chunk_decoder(false);
    let err = decoder
        .feed(&swapped, &mut Vec::new())
        .expect_err("reordered");
    assert_eq!(err.code(), "SignatureDoesNotMatch");
    // Dropping the final chunk is a truncation.
    let mut decoder = verified.chunk_decoder(false);
    decoder
        .feed(&body[..body.len() - last.len()], &mut Vec::new())
        .expect("prefix");
    assert_eq!(
        decoder.finish().expect_err("truncated").code(),
        "IncompleteBody"
    );
    // Unsigned decoding ignores chunk extensions, so the same framing decodes.
    let mut decoder = ChunkedDecoder::unsigned_trailer();
    let mut out = Vec::new();
    decoder.feed(&body, &mut out).expect("unsigned framing");
    assert_eq!(out.len(), 66560);
    assert!(decoder.finish().is_ok());
}
