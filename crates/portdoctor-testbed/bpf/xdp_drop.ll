; An XDP program that drops every packet (XDP_DROP = 1).
target datalayout = "e-m:e-p:64:64-i64:64-i128:128-n32:64-S128"
target triple = "bpf"

@_license = dso_local global [4 x i8] c"GPL\00", section "license", align 1

define dso_local i32 @xdp_drop(i8* nocapture readnone %ctx) section "xdp" {
  ret i32 1
}
