(module
  (memory (export "memory") 1)

  ;; dst[j] = max(dst[j], |src[i][j]|) over the rows of a row-major [k, n] float32 matrix.
  (func (export "colAbsMax") (param $src i32) (param $k i32) (param $n i32) (param $dst i32)
    (local $i i32) (local $j i32) (local $p i32) (local $n4 i32) (local $d i32)
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (local.set $p (local.get $src))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $k)))
        (local.set $j (i32.const 0))
        (local.set $d (local.get $dst))
        (block $v_done
          (loop $v
            (br_if $v_done (i32.ge_u (local.get $j) (local.get $n4)))
            (v128.store (local.get $d)
              (f32x4.max (v128.load (local.get $d)) (f32x4.abs (v128.load (local.get $p)))))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $v)))
        (block $s_done
          (loop $s
            (br_if $s_done (i32.ge_u (local.get $j) (local.get $n)))
            (f32.store (local.get $d) (f32.max (f32.load (local.get $d)) (f32.abs (f32.load (local.get $p)))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $d (i32.add (local.get $d) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $s)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; dst[i] = max_j |src[i][j]| for a row-major [rows, cols] float32 matrix.
  (func (export "rowAbsMax") (param $src i32) (param $rows i32) (param $cols i32) (param $dst i32)
    (local $i i32) (local $j i32) (local $p i32) (local $c4 i32) (local $acc v128) (local $m f32)
    (local.set $c4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $p (local.get $src))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $v_done
          (loop $v
            (br_if $v_done (i32.ge_u (local.get $j) (local.get $c4)))
            (local.set $acc (f32x4.max (local.get $acc) (f32x4.abs (v128.load (local.get $p)))))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $v)))
        (local.set $m
          (f32.max
            (f32.max (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
            (f32.max (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
        (block $s_done
          (loop $s
            (br_if $s_done (i32.ge_u (local.get $j) (local.get $cols)))
            (local.set $m (f32.max (local.get $m) (f32.abs (f32.load (local.get $p)))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $s)))
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2))) (local.get $m))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; One int8 code: clamp(nearest(x / s), -127, 127).
  (func $code (param $x f32) (param $s f32) (result i32)
    (local $q i32)
    (local.set $q (i32.trunc_sat_f32_s (f32.nearest (f32.div (local.get $x) (local.get $s)))))
    (select (i32.const 127)
      (select (i32.const -127) (local.get $q) (i32.lt_s (local.get $q) (i32.const -127)))
      (i32.gt_s (local.get $q) (i32.const 127))))

  ;; dst[i][j] = clamp(nearest(src[i][j] / scales[j]), -127, 127) for a row-major [k, n] matrix (per-column scales),
  ;; sixteen lanes at a time: float32 division, ties to even, int32 codes narrowed with saturation.
  (func (export "quantizeCols") (param $src i32) (param $k i32) (param $n i32) (param $scales i32) (param $dst i32)
    (local $i i32) (local $j i32) (local $p i32) (local $o i32) (local $sp i32) (local $n16 i32) (local $lo v128)
    (local.set $lo (i8x16.splat (i32.const -127)))
    (local.set $n16 (i32.and (local.get $n) (i32.const -16)))
    (local.set $p (local.get $src))
    (local.set $o (local.get $dst))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $k)))
        (local.set $j (i32.const 0))
        (local.set $sp (local.get $scales))
        (block $v_done
          (loop $v
            (br_if $v_done (i32.ge_u (local.get $j) (local.get $n16)))
            (v128.store (local.get $o)
              (i8x16.max_s
                (i8x16.narrow_i16x8_s
                  (i16x8.narrow_i32x4_s
                    (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.div (v128.load offset=0 (local.get $p)) (v128.load offset=0 (local.get $sp)))))
                    (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.div (v128.load offset=16 (local.get $p)) (v128.load offset=16 (local.get $sp))))))
                  (i16x8.narrow_i32x4_s
                    (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.div (v128.load offset=32 (local.get $p)) (v128.load offset=32 (local.get $sp)))))
                    (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.div (v128.load offset=48 (local.get $p)) (v128.load offset=48 (local.get $sp)))))))
                (local.get $lo)))
            (local.set $p (i32.add (local.get $p) (i32.const 64)))
            (local.set $sp (i32.add (local.get $sp) (i32.const 64)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $v)))
        (block $s_done
          (loop $s
            (br_if $s_done (i32.ge_u (local.get $j) (local.get $n)))
            (i32.store8 (local.get $o) (call $code (f32.load (local.get $p)) (f32.load (local.get $sp))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $sp (i32.add (local.get $sp) (i32.const 4)))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $s)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; The same with one scale per row of a row-major [rows, cols] matrix.
  (func (export "quantizeRows") (param $src i32) (param $rows i32) (param $cols i32) (param $scales i32) (param $dst i32)
    (local $i i32) (local $j i32) (local $p i32) (local $o i32) (local $c16 i32) (local $s v128) (local $sf f32) (local $lo v128)
    (local.set $lo (i8x16.splat (i32.const -127)))
    (local.set $c16 (i32.and (local.get $cols) (i32.const -16)))
    (local.set $p (local.get $src))
    (local.set $o (local.get $dst))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $sf (f32.load (i32.add (local.get $scales) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $s (f32x4.splat (local.get $sf)))
        (local.set $j (i32.const 0))
        (block $v_done
          (loop $v
            (br_if $v_done (i32.ge_u (local.get $j) (local.get $c16)))
            (v128.store (local.get $o)
              (i8x16.max_s
                (i8x16.narrow_i16x8_s
                  (i16x8.narrow_i32x4_s
                    (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.div (v128.load offset=0 (local.get $p)) (local.get $s))))
                    (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.div (v128.load offset=16 (local.get $p)) (local.get $s)))))
                  (i16x8.narrow_i32x4_s
                    (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.div (v128.load offset=32 (local.get $p)) (local.get $s))))
                    (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.div (v128.load offset=48 (local.get $p)) (local.get $s))))))
                (local.get $lo)))
            (local.set $p (i32.add (local.get $p) (i32.const 64)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $v)))
        (block $s_done
          (loop $s
            (br_if $s_done (i32.ge_u (local.get $j) (local.get $cols)))
            (i32.store8 (local.get $o) (call $code (f32.load (local.get $p)) (local.get $sf)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $s)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))))
