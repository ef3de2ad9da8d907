//! The robust variants by name: a fixed table, so that a list names a variant by a
//! stable string and an entry's meaning does not depend on the phscan that reads it.

use std::fmt;

/// How a variant is made and matched (each kind has its own threshold).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Crop,
    Rotate,
    Region,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Crop => "crop",
            Kind::Rotate => "rotate",
            Kind::Region => "region",
        }
    }
}

struct Def {
    name: &'static str,
    kind: Kind,
    /// Crop or region: the window [x0, y0, x1, y1] as fractions of the sides.
    window: [f32; 4],
    /// Rotate: degrees counter-clockwise.
    degrees: f32,
}

const fn crop(name: &'static str, window: [f32; 4]) -> Def {
    Def {
        name,
        kind: Kind::Crop,
        window,
        degrees: 0.0,
    }
}

const fn region(name: &'static str, window: [f32; 4]) -> Def {
    Def {
        name,
        kind: Kind::Region,
        window,
        degrees: 0.0,
    }
}

/// The listed image inside what the border detector takes for borders or flat edges
/// (its window depends on the image): matched as a crop.
const fn inner(name: &'static str) -> Def {
    Def {
        name,
        kind: Kind::Crop,
        window: [0.0, 0.0, 1.0, 1.0],
        degrees: 0.0,
    }
}

const fn rot(name: &'static str, degrees: f32) -> Def {
    Def {
        name,
        kind: Kind::Rotate,
        window: [0.0, 0.0, 1.0, 1.0],
        degrees,
    }
}

/// Every variant phscan knows, by index. Append only: an index is not stored in
/// lists (names are), but the order fixes how variants sort in reports.
static DEFS: [Def; 46] = [
    // Crops keeping 90 % of each side, at the 9 positions (offsets 0, 5, 10 %).
    crop("crop90-tl", [0.00, 0.00, 0.90, 0.90]),
    crop("crop90-t", [0.05, 0.00, 0.95, 0.90]),
    crop("crop90-tr", [0.10, 0.00, 1.00, 0.90]),
    crop("crop90-l", [0.00, 0.05, 0.90, 0.95]),
    crop("crop90-c", [0.05, 0.05, 0.95, 0.95]),
    crop("crop90-r", [0.10, 0.05, 1.00, 0.95]),
    crop("crop90-bl", [0.00, 0.10, 0.90, 1.00]),
    crop("crop90-b", [0.05, 0.10, 0.95, 1.00]),
    crop("crop90-br", [0.10, 0.10, 1.00, 1.00]),
    // Keeping 95 %.
    crop("crop95-tl", [0.000, 0.000, 0.950, 0.950]),
    crop("crop95-t", [0.025, 0.000, 0.975, 0.950]),
    crop("crop95-tr", [0.050, 0.000, 1.000, 0.950]),
    crop("crop95-l", [0.000, 0.025, 0.950, 0.975]),
    crop("crop95-c", [0.025, 0.025, 0.975, 0.975]),
    crop("crop95-r", [0.050, 0.025, 1.000, 0.975]),
    crop("crop95-bl", [0.000, 0.050, 0.950, 1.000]),
    crop("crop95-b", [0.025, 0.050, 0.975, 1.000]),
    crop("crop95-br", [0.050, 0.050, 1.000, 1.000]),
    // Keeping 85 %.
    crop("crop85-tl", [0.000, 0.000, 0.850, 0.850]),
    crop("crop85-t", [0.075, 0.000, 0.925, 0.850]),
    crop("crop85-tr", [0.150, 0.000, 1.000, 0.850]),
    crop("crop85-l", [0.000, 0.075, 0.850, 0.925]),
    crop("crop85-c", [0.075, 0.075, 0.925, 0.925]),
    crop("crop85-r", [0.150, 0.075, 1.000, 0.925]),
    crop("crop85-bl", [0.000, 0.150, 0.850, 1.000]),
    crop("crop85-b", [0.075, 0.150, 0.925, 1.000]),
    crop("crop85-br", [0.150, 0.150, 1.000, 1.000]),
    // Small rotations.
    rot("rot-5", -5.0),
    rot("rot-4", -4.0),
    rot("rot-3", -3.0),
    rot("rot-2", -2.0),
    rot("rot+2", 2.0),
    rot("rot+3", 3.0),
    rot("rot+4", 4.0),
    rot("rot+5", 5.0),
    // Halves and quadrants.
    region("top", [0.0, 0.0, 1.0, 0.5]),
    region("bottom", [0.0, 0.5, 1.0, 1.0]),
    region("left", [0.0, 0.0, 0.5, 1.0]),
    region("right", [0.5, 0.0, 1.0, 1.0]),
    region("q-tl", [0.0, 0.0, 0.5, 0.5]),
    region("q-br", [0.5, 0.5, 1.0, 1.0]),
    // The outer thirds as strips across the picture: a box over the centre (within
    // the middle third of each side, up to 11 % of the area) leaves all four
    // untouched, where it touches every half and quadrant.
    region("top-third", [0.0, 0.0, 1.0, 1.0 / 3.0]),
    region("bottom-third", [0.0, 2.0 / 3.0, 1.0, 1.0]),
    region("left-third", [0.0, 0.0, 1.0 / 3.0, 1.0]),
    region("right-third", [2.0 / 3.0, 0.0, 1.0, 1.0]),
    // What the query-side trim keeps of the listed image itself: a picture whose own
    // edge is flat (a black sky) is trimmed into that edge when a border is added, and
    // the same cut of the listed image then matches it.
    inner("inner"),
];

/// One robust variant.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Variant(u8);

impl Variant {
    /// Every variant known, in table order.
    pub fn all() -> impl Iterator<Item = Variant> {
        (0..DEFS.len() as u8).map(Variant)
    }

    fn def(self) -> &'static Def {
        &DEFS[self.0 as usize]
    }

    /// The name lists carry (`crop90-tl`, `rot+3`, `top`, ...).
    pub fn name(self) -> &'static str {
        self.def().name
    }

    pub fn from_name(name: &str) -> Option<Variant> {
        Variant::all().find(|v| v.name() == name)
    }

    pub fn kind(self) -> Kind {
        self.def().kind
    }

    pub fn window(self) -> [f32; 4] {
        self.def().window
    }

    pub fn degrees(self) -> f32 {
        self.def().degrees
    }
}

impl fmt::Debug for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const fn range<const N: usize>(start: u8) -> [Variant; N] {
    let mut out = [Variant(0); N];
    let mut i = 0;
    while i < N {
        out[i] = Variant(start + i as u8);
        i += 1;
    }
    out
}

/// Crops: 90 % at 9 positions, then 95 % and 85 %.
pub const CROPS: [Variant; 27] = range(0);
/// Rotations of ±2..5°.
pub const ROTATIONS: [Variant; 8] = range(27);
/// Halves, two opposite quadrants (the regions of lists made before the thirds),
/// and the outer thirds: the regions `hash --robust` lists and a scan hashes.
pub const REGIONS: [Variant; 10] = range(35);
/// The listed image inside its own borders or flat edges, as the trim finds them.
pub const INNER: Variant = Variant(45);
