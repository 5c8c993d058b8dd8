//! How a lesson takes part in the tour: plain data each lesson declares (`TOUR`).

/// How a lesson takes part in the tour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TourPart {
    /// 1: the tutorial's five examples; 2: the lessons after them (`tour --all`).
    pub part: u8,
    /// The lesson's options in the tour.
    pub args: &'static [&'static str],
    /// The lesson works on a ticket file: the tour gives it a temporary one (`--data`).
    pub data_file: bool,
}
