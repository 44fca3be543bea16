select order_id, customer_id, total
from raw.orders
where status = 'completed'
