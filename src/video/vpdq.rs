//! vPDQ features as Meta's vpdq makes them (a PDQ hash, its quality, the frame
//! number and timestamp of each sampled frame), and the signal string
//! python-threatexchange stores in lists: a JSON array of `"pdqhex,quality,timestamp"`
//! strings, the timestamp written as Python's `f"{t:.3}"` writes it.

use crate::hashing::pdq::PdqHash;

/// One hashed frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VpdqFeature {
    pub hash: PdqHash,
    pub quality: u8,
    /// The frame's number among the decoded frames, in decoder output order, from 0.
    pub frame: u64,
    /// Seconds: the frame number over the frame rate, computed in f32 as vpdq does
    /// (`static_cast<float>(frameNumber) / framerate`, the rate a float).
    pub timestamp: f32,
}

/// vpdq's timestamp of frame `frame` at `frame_rate` frames a second.
pub fn timestamp(frame: u64, frame_rate: f64) -> f32 {
    frame as f32 / frame_rate as f32
}

/// `features` as python-threatexchange's signal string (`vpdq_to_json`): a JSON array
/// of `"pdqhex,quality,timestamp"`, separated by `", "` as Python's `json.dumps` does.
pub fn signal_string(features: &[VpdqFeature]) -> String {
    let mut s = String::with_capacity(2 + features.len() * 80);
    s.push('[');
    for (k, f) in features.iter().enumerate() {
        if k > 0 {
            s.push_str(", ");
        }
        s.push('"');
        s.push_str(&f.hash.to_hex());
        s.push(',');
        s.push_str(&f.quality.to_string());
        s.push(',');
        s.push_str(&py_format_3(f64::from(f.timestamp)));
        s.push('"');
    }
    s.push(']');
    s
}

/// Listed frames written back as a signal string, as python-threatexchange writes
/// `VpdqCompactFeature`s (`vpdq_to_json`).
pub fn compact_signal_string(frames: &[CompactFeature]) -> String {
    let items: Vec<String> = frames
        .iter()
        .map(|f| {
            format!(
                "{},{},{}",
                f.hash.to_hex(),
                f.quality,
                py_format_3(f.timestamp)
            )
        })
        .collect();
    let mut s = String::from("[");
    for (k, i) in items.iter().enumerate() {
        if k > 0 {
            s.push_str(", ");
        }
        s.push('"');
        s.push_str(i);
        s.push('"');
    }
    s.push(']');
    s
}

/// A float as Python's `format(x, ".3")`: 3 significant digits, correctly rounded
/// (ties to even), trailing zeros dropped; fixed notation with at least one digit after
/// the point when the decimal exponent is in -4..=1, else `d[.dd]e±XX`.
pub fn py_format_3(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    // Rust's exponent form rounds the exact binary value half to even, as Python's
    // dtoa does: "d.dde<exp>".
    let e = format!("{:.2e}", x.abs());
    let (mant, exp) = e.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("exponent");
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x == 0.0 {
        return format!("{sign}0.0");
    }
    if (-4..2).contains(&exp) {
        // Fixed: the point after digit exp+1 (left-padded with zeros when negative).
        let point = exp + 1;
        let (int, frac) = if point <= 0 {
            ("0".to_string(), "0".repeat((-point) as usize) + digits)
        } else {
            let p = point as usize;
            if digits.len() <= p {
                (format!("{digits:0<p$}"), String::new())
            } else {
                (digits[..p].to_string(), digits[p..].to_string())
            }
        };
        let frac = if frac.is_empty() {
            "0".to_string()
        } else {
            frac
        };
        format!("{sign}{int}.{frac}")
    } else {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.abs())
    }
}

/// One frame of a listed vPDQ signal: what matching uses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompactFeature {
    pub hash: PdqHash,
    pub quality: u8,
    pub timestamp: f64,
}

/// Parses a vPDQ signal string as python-threatexchange's `json_to_vpdq` does: a JSON
/// array of `"pdqhex,quality,timestamp"` (any float form), quality 0..=100, timestamp
/// not negative. An empty string is an empty signal.
pub fn parse_signal(s: &str) -> Result<Vec<CompactFeature>, String> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    let items: Vec<String> =
        serde_json::from_str(s).map_err(|e| format!("not a JSON array of strings: {e}"))?;
    items
        .iter()
        .map(|item| {
            let bad = || format!("invalid vPDQ frame '{item}'");
            let mut parts = item.split(',');
            let (Some(h), Some(q), Some(t), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(bad());
            };
            let hash = PdqHash::from_hex(h).map_err(|_| bad())?;
            let quality: u8 = q.trim().parse().map_err(|_| bad())?;
            let timestamp: f64 = t.trim().parse().map_err(|_| bad())?;
            if quality > 100 || timestamp.is_nan() || timestamp < 0.0 {
                return Err(bad());
            }
            Ok(CompactFeature {
                hash,
                quality,
                timestamp,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_formatted_as_python_does() {
        // (value, Python's f"{value:.3}"), made with CPython 3.11.
        let table: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (1.0, "1.0"),
            (10.0, "10.0"),
            (99.9, "99.9"),
            (99.96, "1e+02"),
            (100.0, "1e+02"),
            (100.5, "1e+02"),
            (101.0, "1.01e+02"),
            (1234.0, "1.23e+03"),
            (1.0 / 30.0, "0.0333"),
            (2.0 / 3.0, "0.667"),
            (12.5, "12.5"),
            (0.125, "0.125"),
            (1.125, "1.12"),
            (1.375, "1.38"),
            (2.675, "2.67"),
            (1.0005, "1.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (9.995, "9.99"),
            (9.9951, "10.0"),
            (0.99951, "1.0"),
            (123456789.0, "1.23e+08"),
            (-1.5, "-1.5"),
        ];
        for &(x, want) in table {
            assert_eq!(py_format_3(x), want, "{x}");
        }
        // vpdq's f32 timestamps, widened: 29.97 fps, frame 30.
        assert_eq!(
            py_format_3(f64::from(timestamp(30, 30000.0 / 1001.0))),
            "1.0"
        );
        assert_eq!(py_format_3(f64::from(timestamp(1, 3.0))), "0.333");
    }

    #[test]
    fn signal_string_round_trips() {
        let h = PdqHash::from_hex(&"f0".repeat(32)).unwrap();
        let f = |frame, quality, t| VpdqFeature {
            hash: h,
            quality,
            frame,
            timestamp: t,
        };
        let s = signal_string(&[f(0, 100, 0.0), f(25, 49, 1.0), f(2500, 7, 100.0)]);
        let hex = "f0".repeat(32);
        assert_eq!(
            s,
            format!(r#"["{hex},100,0.0", "{hex},49,1.0", "{hex},7,1e+02"]"#)
        );
        let back = parse_signal(&s).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!((back[2].quality, back[2].timestamp), (7, 100.0));
        assert_eq!(signal_string(&[]), "[]");
        assert!(parse_signal("").unwrap().is_empty());
        assert!(parse_signal(r#"["abc,1,2"]"#).is_err());
        assert!(parse_signal(&format!(r#"["{hex},101,2"]"#)).is_err());
        assert!(parse_signal(&format!(r#"["{hex},50,-1"]"#)).is_err());
        assert!(parse_signal(&format!(r#"["{hex},50"]"#)).is_err());
    }
}
