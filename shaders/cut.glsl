// The cutaway: everything nearer the input than u_cut_z (larger z) is hidden,
// so a focused layer is not blocked by the layers in front of it.
uniform float u_cut_z;
