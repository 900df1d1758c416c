//! PLACEHOLDER until the exact port lands.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity(String);
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantityError(pub String);
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format { DecimalSI, BinarySI }
impl std::str::FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, QuantityError> { Ok(Quantity(s.to_string())) }
}
impl Quantity {
    pub fn canonical(&self) -> String { self.0.clone() }
    pub fn value(&self) -> i64 { self.0.parse().unwrap_or(0) }
    pub fn is_zero(&self) -> bool { self.0 == "0" }
    pub fn from_int(v: i64, f: Format) -> Quantity { match f { Format::BinarySI => Quantity(format!("{}Gi", v / (1<<30))), Format::DecimalSI => Quantity(v.to_string()) } }
}
