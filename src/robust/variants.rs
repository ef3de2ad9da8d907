//! The robust variants by name: a fixed table, so that a list names a variant by a
//! stable string and an entry's meaning does not depend on the phscan that reads it.

use std::fmt;

/// How a variant is made and matched (each kind has its own threshold).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Crop,
    Rotate,
    Region,
    /// A window of the listed image, matched by windows of the scanned file
    /// ([`crate::robust::windows`]).
    Window,
    /// A corner of the listed image, matched by the same corner of the scanned file;
    /// two must agree.
    Corner,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Crop => "crop",
            Kind::Rotate => "rotate",
            Kind::Region => "region",
            Kind::Window => "window",
            Kind::Corner => "corner",
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

const fn corner(name: &'static str, window: [f32; 4]) -> Def {
    Def {
        name,
        kind: Kind::Corner,
        window,
        degrees: 0.0,
    }
}

const fn window(name: &'static str, window: [f32; 4]) -> Def {
    Def {
        name,
        kind: Kind::Window,
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
static DEFS: [Def; 123] = [
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
    // Windows for crops anywhere (docs/robust.md#windows): per axis, 80 % of the side
    // centred at 42, 46, 50, 54 and 58 %, and 86 % centred at 46, 50 and 54 %; every
    // pair of those across the two axes. Named by width and centre in percent.
    window("win-x80c42-y80c42", [0.02, 0.02, 0.82, 0.82]),
    window("win-x80c46-y80c42", [0.06, 0.02, 0.86, 0.82]),
    window("win-x80c50-y80c42", [0.10, 0.02, 0.90, 0.82]),
    window("win-x80c54-y80c42", [0.14, 0.02, 0.94, 0.82]),
    window("win-x80c58-y80c42", [0.18, 0.02, 0.98, 0.82]),
    window("win-x86c46-y80c42", [0.03, 0.02, 0.89, 0.82]),
    window("win-x86c50-y80c42", [0.07, 0.02, 0.93, 0.82]),
    window("win-x86c54-y80c42", [0.11, 0.02, 0.97, 0.82]),
    window("win-x80c42-y80c46", [0.02, 0.06, 0.82, 0.86]),
    window("win-x80c46-y80c46", [0.06, 0.06, 0.86, 0.86]),
    window("win-x80c50-y80c46", [0.10, 0.06, 0.90, 0.86]),
    window("win-x80c54-y80c46", [0.14, 0.06, 0.94, 0.86]),
    window("win-x80c58-y80c46", [0.18, 0.06, 0.98, 0.86]),
    window("win-x86c46-y80c46", [0.03, 0.06, 0.89, 0.86]),
    window("win-x86c50-y80c46", [0.07, 0.06, 0.93, 0.86]),
    window("win-x86c54-y80c46", [0.11, 0.06, 0.97, 0.86]),
    window("win-x80c42-y80c50", [0.02, 0.10, 0.82, 0.90]),
    window("win-x80c46-y80c50", [0.06, 0.10, 0.86, 0.90]),
    window("win-x80c50-y80c50", [0.10, 0.10, 0.90, 0.90]),
    window("win-x80c54-y80c50", [0.14, 0.10, 0.94, 0.90]),
    window("win-x80c58-y80c50", [0.18, 0.10, 0.98, 0.90]),
    window("win-x86c46-y80c50", [0.03, 0.10, 0.89, 0.90]),
    window("win-x86c50-y80c50", [0.07, 0.10, 0.93, 0.90]),
    window("win-x86c54-y80c50", [0.11, 0.10, 0.97, 0.90]),
    window("win-x80c42-y80c54", [0.02, 0.14, 0.82, 0.94]),
    window("win-x80c46-y80c54", [0.06, 0.14, 0.86, 0.94]),
    window("win-x80c50-y80c54", [0.10, 0.14, 0.90, 0.94]),
    window("win-x80c54-y80c54", [0.14, 0.14, 0.94, 0.94]),
    window("win-x80c58-y80c54", [0.18, 0.14, 0.98, 0.94]),
    window("win-x86c46-y80c54", [0.03, 0.14, 0.89, 0.94]),
    window("win-x86c50-y80c54", [0.07, 0.14, 0.93, 0.94]),
    window("win-x86c54-y80c54", [0.11, 0.14, 0.97, 0.94]),
    window("win-x80c42-y80c58", [0.02, 0.18, 0.82, 0.98]),
    window("win-x80c46-y80c58", [0.06, 0.18, 0.86, 0.98]),
    window("win-x80c50-y80c58", [0.10, 0.18, 0.90, 0.98]),
    window("win-x80c54-y80c58", [0.14, 0.18, 0.94, 0.98]),
    window("win-x80c58-y80c58", [0.18, 0.18, 0.98, 0.98]),
    window("win-x86c46-y80c58", [0.03, 0.18, 0.89, 0.98]),
    window("win-x86c50-y80c58", [0.07, 0.18, 0.93, 0.98]),
    window("win-x86c54-y80c58", [0.11, 0.18, 0.97, 0.98]),
    window("win-x80c42-y86c46", [0.02, 0.03, 0.82, 0.89]),
    window("win-x80c46-y86c46", [0.06, 0.03, 0.86, 0.89]),
    window("win-x80c50-y86c46", [0.10, 0.03, 0.90, 0.89]),
    window("win-x80c54-y86c46", [0.14, 0.03, 0.94, 0.89]),
    window("win-x80c58-y86c46", [0.18, 0.03, 0.98, 0.89]),
    window("win-x86c46-y86c46", [0.03, 0.03, 0.89, 0.89]),
    window("win-x86c50-y86c46", [0.07, 0.03, 0.93, 0.89]),
    window("win-x86c54-y86c46", [0.11, 0.03, 0.97, 0.89]),
    window("win-x80c42-y86c50", [0.02, 0.07, 0.82, 0.93]),
    window("win-x80c46-y86c50", [0.06, 0.07, 0.86, 0.93]),
    window("win-x80c50-y86c50", [0.10, 0.07, 0.90, 0.93]),
    window("win-x80c54-y86c50", [0.14, 0.07, 0.94, 0.93]),
    window("win-x80c58-y86c50", [0.18, 0.07, 0.98, 0.93]),
    window("win-x86c46-y86c50", [0.03, 0.07, 0.89, 0.93]),
    window("win-x86c50-y86c50", [0.07, 0.07, 0.93, 0.93]),
    window("win-x86c54-y86c50", [0.11, 0.07, 0.97, 0.93]),
    window("win-x80c42-y86c54", [0.02, 0.11, 0.82, 0.97]),
    window("win-x80c46-y86c54", [0.06, 0.11, 0.86, 0.97]),
    window("win-x80c50-y86c54", [0.10, 0.11, 0.90, 0.97]),
    window("win-x80c54-y86c54", [0.14, 0.11, 0.94, 0.97]),
    window("win-x80c58-y86c54", [0.18, 0.11, 0.98, 0.97]),
    window("win-x86c46-y86c54", [0.03, 0.11, 0.89, 0.97]),
    window("win-x86c50-y86c54", [0.07, 0.11, 0.93, 0.97]),
    window("win-x86c54-y86c54", [0.11, 0.11, 0.97, 0.97]),
    // Corners of 68 % of each side: a box over one corner (up to 32 % of each side)
    // leaves the three others untouched. Matched like regions, two agreeing.
    corner("corner-tl", [0.00, 0.00, 0.68, 0.68]),
    corner("corner-tr", [0.32, 0.00, 1.00, 0.68]),
    corner("corner-bl", [0.00, 0.32, 0.68, 1.00]),
    corner("corner-br", [0.32, 0.32, 1.00, 1.00]),
    // Windows of 90 % of each side centred at 48, 50 and 52 %: a crop keeping 95 % is
    // 89 % of the side in the file's windows, between the 86 % windows and the
    // whole-image crop entries.
    window("win-x90c48-y90c48", [0.03, 0.03, 0.93, 0.93]),
    window("win-x90c50-y90c48", [0.05, 0.03, 0.95, 0.93]),
    window("win-x90c52-y90c48", [0.07, 0.03, 0.97, 0.93]),
    window("win-x90c48-y90c50", [0.03, 0.05, 0.93, 0.95]),
    window("win-x90c50-y90c50", [0.05, 0.05, 0.95, 0.95]),
    window("win-x90c52-y90c50", [0.07, 0.05, 0.97, 0.95]),
    window("win-x90c48-y90c52", [0.03, 0.07, 0.93, 0.97]),
    window("win-x90c50-y90c52", [0.05, 0.07, 0.95, 0.97]),
    window("win-x90c52-y90c52", [0.07, 0.07, 0.97, 0.97]),
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
/// Windows of the listed image, for crops at any position ([`Kind::Window`]).
pub const WINDOWS: [Variant; 64] = range(46);
/// Corners of 68 % of each side ([`Kind::Corner`]).
pub const CORNERS: [Variant; 4] = range(110);
/// Windows of 90 % of each side, for crops keeping 95 % ([`Kind::Window`]).
pub const WINDOWS90: [Variant; 9] = range(114);
