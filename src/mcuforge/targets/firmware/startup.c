/* Startup for the QEMU firmware: vector table, reset handler and fault handlers.
 * No C library start-up code is linked (-nostartfiles): the reset handler enables the
 * FPU, copies .data, zeroes .bss, paints the stack for the high-water measurement,
 * runs main and reports its status to QEMU through semihosting. */
#include <stdint.h>

#include "firmware.h"
#include "semihost.h"

/* Symbols of the linker script (link.ld.in). */
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _sstack, _estack;

int main(void);
void Reset_Handler(void);
void Fault_Handler(void);

/* Core exceptions only: the firmware enables no interrupt. Entry 0 is the initial stack
 * pointer; function addresses carry the Thumb bit, set by the linker. */
__attribute__((section(".isr_vector"), used)) const uintptr_t mf_vectors[16] = {
    (uintptr_t)&_estack,
    (uintptr_t)Reset_Handler,
    (uintptr_t)Fault_Handler, /* NMI */
    (uintptr_t)Fault_Handler, /* HardFault */
    (uintptr_t)Fault_Handler, /* MemManage */
    (uintptr_t)Fault_Handler, /* BusFault */
    (uintptr_t)Fault_Handler, /* UsageFault */
    0, 0, 0, 0,
    (uintptr_t)Fault_Handler, /* SVCall */
    (uintptr_t)Fault_Handler, /* DebugMonitor */
    0,
    (uintptr_t)Fault_Handler, /* PendSV */
    (uintptr_t)Fault_Handler, /* SysTick */
};

void Fault_Handler(void) {
    sh_write0("mcuforge firmware: fault exception (HardFault, bus, usage or memory fault)\n");
    sh_exit(0);
}

void Reset_Handler(void) {
    /* CPACR (0xE000ED88): full access to coprocessors CP10 and CP11, the FPU, before any
     * floating-point instruction runs (the code is built for the hard-float ABI). */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    const uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata; dst++) {
        *dst = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss; dst++) {
        *dst = 0;
    }
    /* Paint the stack below the current frame (with 64 B of margin) for the scan in main. */
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (volatile uint32_t *p = &_sstack; p < sp - 16; p++) {
        *p = MF_STACK_PAINT;
    }
    sh_exit(main() == 0);
}
