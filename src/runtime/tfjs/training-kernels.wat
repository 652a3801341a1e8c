;; Training loops over the tfjs wasm backend's own memory (imported): BatchNormalization's
;; per-channel sums and affine passes, and the non-overlapping max pool's gradient. Each is
;; the scalar loop of its TypeScript definition, in the same order and precision (float64
;; per-channel sums, float64 affine arithmetic rounded once to float32), so results are
;; bit-identical; compiled code runs them several times faster than JavaScript does.
;; Pointers are byte offsets into the backend's heap; a tensor is [outer, c, inner] float32.
(module
  (import "env" "memory" (memory 1))

  ;; sumA[ch] = Σ a, sumAB[ch] = Σ a·b per channel (float64 outputs, c each), summed per
  ;; (outer, channel) run first, then into the channel's total.
  (func (export "channelDots")
    (param $a i32) (param $b i32) (param $outer i32) (param $c i32) (param $inner i32)
    (param $sumA i32) (param $sumAB i32)
    (local $o i32) (local $ch i32) (local $k i32) (local $s f64) (local $t f64) (local $x f64)
    (local $off i32)
    (memory.fill (local.get $sumA) (i32.const 0) (i32.shl (local.get $c) (i32.const 3)))
    (memory.fill (local.get $sumAB) (i32.const 0) (i32.shl (local.get $c) (i32.const 3)))
    (block $o_done
      (loop $o_loop
        (br_if $o_done (i32.ge_u (local.get $o) (local.get $outer)))
        (local.set $ch (i32.const 0))
        (block $ch_done
          (loop $ch_loop
            (br_if $ch_done (i32.ge_u (local.get $ch) (local.get $c)))
            (local.set $s (f64.const 0))
            (local.set $t (f64.const 0))
            (local.set $k (i32.const 0))
            (block $k_done
              (loop $k_loop
                (br_if $k_done (i32.ge_u (local.get $k) (local.get $inner)))
                (local.set $x (f64.promote_f32 (f32.load (local.get $a))))
                (local.set $s (f64.add (local.get $s) (local.get $x)))
                (local.set $t (f64.add (local.get $t) (f64.mul (local.get $x) (f64.promote_f32 (f32.load (local.get $b))))))
                (local.set $a (i32.add (local.get $a) (i32.const 4)))
                (local.set $b (i32.add (local.get $b) (i32.const 4)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $k_loop)))
            (local.set $off (i32.shl (local.get $ch) (i32.const 3)))
            (f64.store (i32.add (local.get $sumA) (local.get $off))
              (f64.add (f64.load (i32.add (local.get $sumA) (local.get $off))) (local.get $s)))
            (f64.store (i32.add (local.get $sumAB) (local.get $off))
              (f64.add (f64.load (i32.add (local.get $sumAB) (local.get $off))) (local.get $t)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
            (br $ch_loop)))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $o_loop))))

  ;; out = a[ch]·p + b[ch]·q + k[ch] per element (a, b, k: float64, c each).
  (func (export "channelAffine")
    (param $out i32) (param $p i32) (param $a i32) (param $q i32) (param $b i32) (param $k i32)
    (param $outer i32) (param $c i32) (param $inner i32)
    (local $o i32) (local $ch i32) (local $e i32) (local $ac f64) (local $bc f64) (local $kc f64)
    (local $off i32)
    (block $o_done
      (loop $o_loop
        (br_if $o_done (i32.ge_u (local.get $o) (local.get $outer)))
        (local.set $ch (i32.const 0))
        (block $ch_done
          (loop $ch_loop
            (br_if $ch_done (i32.ge_u (local.get $ch) (local.get $c)))
            (local.set $off (i32.shl (local.get $ch) (i32.const 3)))
            (local.set $ac (f64.load (i32.add (local.get $a) (local.get $off))))
            (local.set $bc (f64.load (i32.add (local.get $b) (local.get $off))))
            (local.set $kc (f64.load (i32.add (local.get $k) (local.get $off))))
            (local.set $e (i32.const 0))
            (block $e_done
              (loop $e_loop
                (br_if $e_done (i32.ge_u (local.get $e) (local.get $inner)))
                (f32.store (local.get $out)
                  (f32.demote_f64
                    (f64.add
                      (f64.add
                        (f64.mul (local.get $ac) (f64.promote_f32 (f32.load (local.get $p))))
                        (f64.mul (local.get $bc) (f64.promote_f32 (f32.load (local.get $q)))))
                      (local.get $kc))))
                (local.set $out (i32.add (local.get $out) (i32.const 4)))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (local.set $q (i32.add (local.get $q) (i32.const 4)))
                (local.set $e (i32.add (local.get $e) (i32.const 1)))
                (br $e_loop)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
            (br $ch_loop)))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $o_loop))))

  ;; dx of a non-overlapping [kh, kw] max pool of x [n, h, w, c] (y, dy: [n, h/kh, w/kw, c]):
  ;; each window's dy goes to the first position, in row-major window order, equal to its max.
  (func (export "blockMaxGrad")
    (param $x i32) (param $y i32) (param $dy i32) (param $dx i32)
    (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $kh i32) (param $kw i32)
    (local $oh i32) (local $ow i32) (local $b i32) (local $i i32) (local $j i32) (local $ch i32)
    (local $ra i32) (local $d i32) (local $out i32) (local $at i32) (local $max f32)
    (local.set $oh (i32.div_u (local.get $h) (local.get $kh)))
    (local.set $ow (i32.div_u (local.get $w) (local.get $kw)))
    (memory.fill (local.get $dx) (i32.const 0)
      (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $h)) (i32.mul (local.get $w) (local.get $c))) (i32.const 2)))
    (block $b_done
      (loop $b_loop
        (br_if $b_done (i32.ge_u (local.get $b) (local.get $n)))
        (local.set $i (i32.const 0))
        (block $i_done
          (loop $i_loop
            (br_if $i_done (i32.ge_u (local.get $i) (local.get $oh)))
            (local.set $j (i32.const 0))
            (block $j_done
              (loop $j_loop
                (br_if $j_done (i32.ge_u (local.get $j) (local.get $ow)))
                (local.set $ch (i32.const 0))
                (block $ch_done
                  (loop $ch_loop
                    (br_if $ch_done (i32.ge_u (local.get $ch) (local.get $c)))
                    ;; out = ((b*oh + i)*ow + j)*c + ch
                    (local.set $out
                      (i32.add
                        (i32.mul
                          (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $oh)) (local.get $i)) (local.get $ow)) (local.get $j))
                          (local.get $c))
                        (local.get $ch)))
                    (local.set $max (f32.load (i32.add (local.get $y) (i32.shl (local.get $out) (i32.const 2)))))
                    (local.set $ra (i32.const 0))
                    (block $found
                      (loop $a_loop
                        (br_if $found (i32.ge_u (local.get $ra) (local.get $kh)))
                        (local.set $d (i32.const 0))
                        (block $d_done
                          (loop $d_loop
                            (br_if $d_done (i32.ge_u (local.get $d) (local.get $kw)))
                            ;; at = ((b*h + i*kh + a)*w + j*kw + d)*c + ch
                            (local.set $at
                              (i32.add
                                (i32.mul
                                  (i32.add
                                    (i32.mul
                                      (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.add (i32.mul (local.get $i) (local.get $kh)) (local.get $ra)))
                                      (local.get $w))
                                    (i32.add (i32.mul (local.get $j) (local.get $kw)) (local.get $d)))
                                  (local.get $c))
                                (local.get $ch)))
                            (if (f32.eq (f32.load (i32.add (local.get $x) (i32.shl (local.get $at) (i32.const 2)))) (local.get $max))
                              (then
                                (f32.store (i32.add (local.get $dx) (i32.shl (local.get $at) (i32.const 2)))
                                  (f32.load (i32.add (local.get $dy) (i32.shl (local.get $out) (i32.const 2)))))
                                (br $found)))
                            (local.set $d (i32.add (local.get $d) (i32.const 1)))
                            (br $d_loop)))
                        (local.set $ra (i32.add (local.get $ra) (i32.const 1)))
                        (br $a_loop)))
                    (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
                    (br $ch_loop)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $j_loop)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $i_loop)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $b_loop)))))
