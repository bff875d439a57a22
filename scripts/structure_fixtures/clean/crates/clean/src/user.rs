use crate::twice;
use std::fmt::Display;

pub fn pair<T: Display + Copy>(x: T) -> (T, T) {
    let _ = crate::macros::local!();
    twice!(x)
}

#[cfg(test)]
mod tests {
    use crate::macros;
}
