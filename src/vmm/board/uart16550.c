/*
 * NS16550A UART: register file, receive FIFO, interrupt identification.
 * See uart16550.h for the model's simplifications; register and bit
 * meanings follow the National/TI PC16550D datasheet.
 */
#include "vmm/board/uart16550.h"

#include <errno.h>
#include <string.h>
#include "vmm/snap_stream.h"

enum {
	REG_RBR_THR = 0, REG_IER = 1, REG_IIR_FCR = 2, REG_LCR = 3,
	REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7,
};

#define IER_ERBFI 0x01
#define IER_ETBEI 0x02
#define IER_ELSI  0x04
#define IER_EDSSI 0x08

#define IIR_NONE    0x01
#define IIR_MODEM   0x00
#define IIR_THRE    0x02
#define IIR_RDA     0x04
#define IIR_LINE    0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO    0xc0

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_ERRS 0x1e   /* OE PE FE BI */
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_RXERR 0x80

#define MSR_DCTS 0x01
#define MSR_TERI 0x04
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80

static unsigned rx_capacity(const struct uart16550_state *s)
{
	return (s->fcr & FCR_ENABLE) ? UART_FIFO_SIZE : 1;
}

static unsigned rx_trigger(const struct uart16550_state *s)
{
	static const uint8_t level[4] = { 1, 4, 8, 14 };
	return level[s->fcr >> 6];
}

static uint8_t iir(const struct uart16550_state *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;
	if ((s->ier & IER_ELSI) && (s->lsr_err & LSR_ERRS))
		return fifo | IIR_LINE;
	if ((s->ier & IER_ERBFI) && s->rx_count) {
		if (fifo && s->rx_count < rx_trigger(s))
			return fifo | IIR_TIMEOUT;
		return fifo | IIR_RDA;
	}
	if ((s->ier & IER_ETBEI) && s->thr_ipending)
		return fifo | IIR_THRE;
	if ((s->ier & IER_EDSSI) && (s->msr & 0x0f))
		return fifo | IIR_MODEM;
	return fifo | IIR_NONE;
}

static void update_irq(struct uart16550 *u)
{
	uint8_t level = !(iir(&u->s) & IIR_NONE);
	if (level != u->s.irq_level) {
		u->s.irq_level = level;
		irq_set(&u->irq, level);
	}
}

/* Modem status inputs: wired to MCR outputs in loopback, else fixed. */
static void update_msr(struct uart16550_state *s)
{
	uint8_t in;
	if (s->mcr & MCR_LOOP) {
		in = ((s->mcr & MCR_RTS) ? MSR_CTS : 0) | ((s->mcr & MCR_DTR) ? MSR_DSR : 0) |
		     ((s->mcr & MCR_OUT1) ? MSR_RI : 0) | ((s->mcr & MCR_OUT2) ? MSR_DCD : 0);
	} else {
		in = MSR_DCD | MSR_DSR | MSR_CTS;
	}
	uint8_t old = s->msr & 0xf0;
	uint8_t changed = (uint8_t)((old ^ in) >> 4);
	uint8_t delta = changed & ~MSR_TERI;
	if ((changed & MSR_TERI) && !(in & MSR_RI))   /* TERI: RI's trailing edge only */
		delta |= MSR_TERI;
	s->msr = (uint8_t)(in | (s->msr & 0x0f) | delta);
}

static int rx_push(struct uart16550_state *s, uint8_t c)
{
	if (s->rx_count >= rx_capacity(s))
		return -1;
	s->rx[(s->rx_head + s->rx_count) % UART_FIFO_SIZE] = c;
	s->rx_count++;
	return 0;
}

static void rx_clear(struct uart16550_state *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
}

static uint64_t uart_read(void *dev, uint64_t off, unsigned size)
{
	struct uart16550 *u = dev;
	struct uart16550_state *s = &u->s;
	uint8_t v = 0;
	(void)size;
	pthread_mutex_lock(&u->lock);
	switch (off) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB) {
			v = s->dll;
		} else if (s->rx_count) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % UART_FIFO_SIZE;
			s->rx_count--;
		}
		break;
	case REG_IER:
		v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
		break;
	case REG_IIR_FCR:
		v = iir(s);
		if ((v & 0x0f) == IIR_THRE)
			s->thr_ipending = 0;
		break;
	case REG_LCR:
		v = s->lcr;
		break;
	case REG_MCR:
		v = s->mcr;
		break;
	case REG_LSR:
		v = (s->rx_count ? LSR_DR : 0) | s->lsr_err | LSR_THRE | LSR_TEMT;
		if ((s->fcr & FCR_ENABLE) && (s->lsr_err & (LSR_ERRS & ~LSR_OE)))
			v |= LSR_RXERR;
		s->lsr_err = 0;
		break;
	case REG_MSR:
		v = s->msr;
		s->msr &= 0xf0;
		break;
	case REG_SCR:
		v = s->scr;
		break;
	default:
		break;
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return v;
}

static void transmit(struct uart16550 *u, uint8_t c)
{
	struct uart16550_state *s = &u->s;
	if (s->mcr & MCR_LOOP) {
		if (rx_push(s, c) < 0)
			s->lsr_err |= LSR_OE;   /* the byte is lost, as on the chip */
	} else if (u->cd && u->cd->write) {
		u->cd->write(u->cd->host, &c, 1);
	}
	s->thr_ipending = 1;
}

static void uart_write(void *dev, uint64_t off, unsigned size, uint64_t value)
{
	struct uart16550 *u = dev;
	struct uart16550_state *s = &u->s;
	uint8_t v = (uint8_t)value;
	(void)size;
	pthread_mutex_lock(&u->lock);
	switch (off) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			transmit(u, v);
		break;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
		} else {
			uint8_t old = s->ier;
			s->ier = v & 0x0f;
			/* THR is always empty, so enabling ETBEI arms THRE at once. */
			if ((s->ier ^ old) & IER_ETBEI)
				s->thr_ipending = !!(s->ier & IER_ETBEI);
		}
		break;
	case REG_IIR_FCR: {
		uint8_t fcr = (v & FCR_ENABLE) ? (v & 0xc9) : 0;
		if ((fcr ^ s->fcr) & FCR_ENABLE)
			rx_clear(s);
		else if (v & FCR_CLEAR_RX)
			rx_clear(s);
		s->fcr = fcr;
		break;
	}
	case REG_LCR:
		s->lcr = v;
		break;
	case REG_MCR:
		s->mcr = v & 0x1f;
		update_msr(s);
		break;
	case REG_SCR:
		s->scr = v;
		break;
	default:   /* LSR and MSR are read-only */
		break;
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

const struct mmio_ops uart16550_ops = {
	.read = uart_read,
	.write = uart_write,
};

size_t uart16550_receive(void *uart, const uint8_t *buf, size_t len)
{
	struct uart16550 *u = uart;
	size_t n = 0;
	pthread_mutex_lock(&u->lock);
	/* In loopback the serial input is disconnected: input waits; so it
	 * does while the VM is paused (the host side retries). */
	if (!(u->s.mcr & MCR_LOOP) && !u->quiesced)
		while (n < len && rx_push(&u->s, buf[n]) == 0)
			n++;
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

int uart16550_init(struct uart16550 *u, const struct irq_line *irq, struct chardev *cd)
{
	memset(u, 0, sizeof(*u));
	int rc = pthread_mutex_init(&u->lock, NULL);
	if (rc)
		return -rc;
	u->irq = *irq;
	u->cd = cd;
	if (cd) {
		cd->receive = uart16550_receive;
		cd->dev = u;
	}
	uart16550_reset(u);
	return 0;
}

void uart16550_destroy(struct uart16550 *u)
{
	/* The chardev may already be gone (the host side owns it): not touched. */
	pthread_mutex_destroy(&u->lock);
}

void uart16550_reset(struct uart16550 *u)
{
	pthread_mutex_lock(&u->lock);
	memset(&u->s, 0, sizeof(u->s));
	u->s.dll = 0x0c;   /* 9600 baud from a 1.8432 MHz clock: a customary value */
	u->s.msr = MSR_DCD | MSR_DSR | MSR_CTS;
	irq_set(&u->irq, 0);
	pthread_mutex_unlock(&u->lock);
}

/* ---- the device type (device.h) ---- */

/* Snapshot: registers and the receive FIFO; the line is driven again. */
static int dev_save(void *obj, struct snap_out *o)
{
	struct uart16550 *u = obj;
	pthread_mutex_lock(&u->lock);
	const struct uart16550_state *s = &u->s;
	snap_put_u32(o, 1);
	snap_put_bytes(o, s->rx, UART_FIFO_SIZE);
	const uint8_t regs[] = { s->rx_head, s->rx_count, s->ier, s->fcr, s->lcr, s->mcr,
				 s->scr, s->dll, s->dlm, s->lsr_err, s->msr, s->thr_ipending,
				 s->irq_level };
	snap_put_bytes(o, regs, sizeof regs);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static int dev_load(void *obj, struct snap_in *in)
{
	struct uart16550 *u = obj;
	struct uart16550_state s = {0};
	if (snap_get_u32(in) != 1)
		return -EINVAL;
	snap_get_bytes(in, s.rx, UART_FIFO_SIZE);
	uint8_t r[13];
	snap_get_bytes(in, r, sizeof r);
	if (in->overrun || r[0] >= UART_FIFO_SIZE || r[1] > UART_FIFO_SIZE)
		return -EINVAL;
	s.rx_head = r[0]; s.rx_count = r[1]; s.ier = r[2]; s.fcr = r[3]; s.lcr = r[4];
	s.mcr = r[5]; s.scr = r[6]; s.dll = r[7]; s.dlm = r[8]; s.lsr_err = r[9];
	s.msr = r[10]; s.thr_ipending = r[11]; s.irq_level = r[12] != 0;
	pthread_mutex_lock(&u->lock);
	u->s = s;
	irq_set(&u->irq, s.irq_level);
	pthread_mutex_unlock(&u->lock);
	return 0;
}


static void dev_reset(void *obj)
{
	uart16550_reset(obj);
}

static void dev_destroy(void *obj)
{
	uart16550_destroy(obj);
}

static void dev_quiesce(void *obj)
{
	struct uart16550 *u = obj;
	pthread_mutex_lock(&u->lock);
	u->quiesced = true;
	pthread_mutex_unlock(&u->lock);
}

static void dev_resume(void *obj)
{
	struct uart16550 *u = obj;
	pthread_mutex_lock(&u->lock);
	u->quiesced = false;
	pthread_mutex_unlock(&u->lock);
}

const struct device_ops uart16550_device = {
	.name = "uart16550",
	.reset = dev_reset,
	.quiesce = dev_quiesce,
	.resume = dev_resume,
	.save = dev_save,
	.load = dev_load,
	.destroy = dev_destroy,
};
