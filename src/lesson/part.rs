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

impl TourPart {
    /// Part 1, the tutorial's own examples, with the lesson's default options.
    pub const TUTORIAL: TourPart = TourPart {
        part: 1,
        args: &[],
        data_file: false,
    };

    /// Part 2 (`tour --all`), the lessons after the tutorial, with their default options.
    pub const AFTER: TourPart = TourPart {
        part: 2,
        args: &[],
        data_file: false,
    };
}
