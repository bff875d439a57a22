use super::q as qq;

pub fn pf() {
    qq::qf();
}
