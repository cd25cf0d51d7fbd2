import { create } from "zustand";

/** Whether the slide-in cart is open: the badge and Add to cart open it, the drawer closes it. While it is
 * open the rest of the page is inert (the dialog's focus trap), so toasts render inside it (`toastSlot`). */
interface DrawerState {
  open: boolean;
  toastSlot: HTMLElement | null;
  openDrawer: () => void;
  closeDrawer: () => void;
  setToastSlot: (slot: HTMLElement | null) => void;
}

export const useCartDrawer = create<DrawerState>()((set) => ({
  open: false,
  toastSlot: null,
  openDrawer: () => set({ open: true }),
  closeDrawer: () => set({ open: false }),
  setToastSlot: (toastSlot) => set({ toastSlot }),
}));
