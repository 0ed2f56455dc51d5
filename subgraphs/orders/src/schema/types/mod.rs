//! The GraphQL object and input types and their field resolvers.

mod cart;
mod foreign;
mod order;
mod returns;

pub(super) use cart::load_cart;
pub use cart::{Cart, CartLine};
pub use foreign::{Listing, Medicine, User, Vendor};
pub(super) use order::list;
pub use order::{
    DeliveryAddress, Order, OrderForPayment, OrderLine, OrderLineBatch, OrderStatusChange,
    PlaceOrderInput, PlaceOrderPayload,
};
pub(super) use returns::list_returns;
pub use returns::{
    OrderReturn, OrderReturnLine, RequestReturnInput, ReturnLineInput, ReviewReturnInput,
};
