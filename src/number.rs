//! Number options, bounded where they are parsed (clap value parsers): every count, the time
//! scale. Out of range is a usage error, said in the run's language.

use crate::time::TimeScale;

/// A count option: 1 to 10000.
pub fn count(s: &str) -> Result<usize, NumberError> {
    bounded(s, 1, 10_000)
}

/// A whole number from `lo` to `hi`, for clap.
pub fn bounded(s: &str, lo: usize, hi: usize) -> Result<usize, NumberError> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| NumberError::NotWhole(s.into()))?;
    if (lo..=hi).contains(&n) {
        Ok(n)
    } else {
        Err(NumberError::OutOfRange(
            s.into(),
            lo.to_string(),
            hi.to_string(),
        ))
    }
}

/// `--time-scale F`: a finite number from 0 to 1000.
pub fn scale(s: &str) -> Result<TimeScale, NumberError> {
    let f: f64 = s
        .trim()
        .parse()
        .map_err(|_| NumberError::NotANumber(s.into()))?;
    TimeScale::new(f)
        .ok_or_else(|| NumberError::OutOfRange(s.into(), "0".into(), TimeScale::MAX.to_string()))
}

/// A number option that does not parse: said in English by `Display`, in Chinese by
/// [`NumberError::chinese`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberError {
    NotWhole(String),
    NotANumber(String),
    /// The text, the least and the most allowed.
    OutOfRange(String, String, String),
}

impl std::fmt::Display for NumberError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NumberError::NotWhole(s) => write!(f, "`{s}` is not a whole number"),
            NumberError::NotANumber(s) => write!(f, "`{s}` is not a number"),
            NumberError::OutOfRange(s, lo, hi) => {
                write!(f, "{s} is out of range ({lo} to {hi})")
            }
        }
    }
}

impl std::error::Error for NumberError {}

impl NumberError {
    /// The same, in Chinese (for a usage error in `--lang zh`).
    pub fn chinese(&self) -> String {
        match self {
            NumberError::NotWhole(s) => format!("「{s}」不是整数"),
            NumberError::NotANumber(s) => format!("「{s}」不是数字"),
            NumberError::OutOfRange(s, lo, hi) => format!("{s} 超出范围（{lo} 到 {hi}）"),
        }
    }
}
