//! FaceMesh landmark indices the renderer moves or outlines (MediaPipe's face-mesh topology).

/// The face outline, clockwise from the forehead.
pub const FACE_OVAL: [usize; 36] = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
    148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
];
/// The right eye's upper lid contour, outer to inner corner.
pub const R_UP0: [usize; 7] = [246, 161, 160, 159, 158, 157, 173];
/// The right eye's lower lid contour, paired with [`R_UP0`].
pub const R_LO0: [usize; 7] = [7, 163, 144, 145, 153, 154, 155];
/// The ring above the right upper lid (the lid fold).
pub const R_UP1: [usize; 7] = [247, 30, 29, 27, 28, 56, 190];
/// The next ring up (skin under the brow).
pub const R_UP2: [usize; 7] = [113, 225, 224, 223, 222, 221, 189];
/// The left eye's upper lid contour.
pub const L_UP0: [usize; 7] = [466, 388, 387, 386, 385, 384, 398];
/// The left eye's lower lid contour.
pub const L_LO0: [usize; 7] = [249, 390, 373, 374, 380, 381, 382];
/// The ring above the left upper lid.
pub const L_UP1: [usize; 7] = [467, 260, 259, 257, 258, 286, 414];
/// The next ring up.
pub const L_UP2: [usize; 7] = [342, 445, 444, 443, 442, 441, 413];
/// Upper lip, outer contour.
pub const LIPS_UPPER_OUTER: [usize; 11] = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291];
/// Lower lip, outer contour.
pub const LIPS_LOWER_OUTER: [usize; 9] = [146, 91, 181, 84, 17, 314, 405, 321, 375];
/// Upper lip, inner contour.
pub const LIPS_UPPER_INNER: [usize; 11] = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308];
/// Lower lip, inner contour.
pub const LIPS_LOWER_INNER: [usize; 9] = [95, 88, 178, 87, 14, 317, 402, 318, 324];
/// Mouth corners (outer and inner).
pub const MOUTH_CORNERS: [usize; 4] = [61, 291, 78, 308];
/// Outer eye corners (right, left) and inner corners (right, left).
pub const EYE_CORNERS: [usize; 4] = [33, 263, 133, 362];
